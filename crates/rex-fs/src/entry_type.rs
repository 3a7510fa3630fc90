//! The type of a filesystem object, as read from `fstat`/`fstatat` or a directory entry.

use std::fmt;

use rustix::fs::FileType;

/// What kind of object a path or directory entry names.
///
/// Knowing an entry's type authorizes nothing; it only tells which Cedar entity type
/// (`File` or `Dir`) a request about the object uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryType {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (not followed).
    Symlink,
    /// A named pipe.
    Fifo,
    /// A Unix-domain socket.
    Socket,
    /// A character device.
    CharDevice,
    /// A block device.
    BlockDevice,
    /// The kernel did not say.
    Unknown,
}

impl EntryType {
    /// Every entry type, in the order of the original `EntryType` module constants.
    pub const ALL: &'static [EntryType] = &[
        Self::File,
        Self::Dir,
        Self::Symlink,
        Self::Unknown,
        Self::Fifo,
        Self::Socket,
        Self::CharDevice,
        Self::BlockDevice,
    ];

    /// The name scripts see (`EntryType::FILE`, ...): `"FILE"`, `"DIR"`, `"SYMLINK"`,
    /// `"FIFO"`, `"SOCKET"`, `"CHAR_DEVICE"`, `"BLOCK_DEVICE"`, `"UNKNOWN"`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::File => "FILE",
            Self::Dir => "DIR",
            Self::Symlink => "SYMLINK",
            Self::Fifo => "FIFO",
            Self::Socket => "SOCKET",
            Self::CharDevice => "CHAR_DEVICE",
            Self::BlockDevice => "BLOCK_DEVICE",
            Self::Unknown => "UNKNOWN",
        }
    }

    /// The type encoded in a `st_mode`.
    pub(crate) fn from_mode(mode: u32) -> Self {
        Self::from_file_type(FileType::from_raw_mode(mode))
    }

    /// The type a `rustix` file type names.
    pub(crate) fn from_file_type(t: FileType) -> Self {
        match t {
            FileType::RegularFile => Self::File,
            FileType::Directory => Self::Dir,
            FileType::Symlink => Self::Symlink,
            FileType::Fifo => Self::Fifo,
            FileType::Socket => Self::Socket,
            FileType::CharacterDevice => Self::CharDevice,
            FileType::BlockDevice => Self::BlockDevice,
            _ => Self::Unknown,
        }
    }
}

impl fmt::Display for EntryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for EntryType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}
