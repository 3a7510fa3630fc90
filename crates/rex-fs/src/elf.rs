//! `elf_info`: what an ELF file's headers say.

use goblin::elf::Elf;
use rex_policy::Gate;

use crate::error::FsError;
use crate::file::FileHandle;

/// What an ELF file's headers say.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ElfInfo {
    /// For a core dump, the executable's path recorded by the kernel (`AT_EXECFN`);
    /// `None` for other files.
    pub execfn: Option<String>,
    /// The machine the file is built for (`x86_64`, `aarch64`, ...).
    pub platform: Option<String>,
    /// The program interpreter (`PT_INTERP`), if any.
    pub interpreter: Option<String>,
    /// Whether it is a 64-bit ELF.
    pub is_64bit: bool,
}

impl FileHandle {
    /// Parses the file as ELF (a full `read` on `File(path)`; at most `max_bytes` read).
    /// Linux only.
    pub fn elf_info(&self, gate: &Gate, max_bytes: usize) -> Result<ElfInfo, FsError> {
        let bytes = self.read_bytes(gate, max_bytes)?;
        let elf = Elf::parse(&bytes).map_err(|e| FsError::Format {
            path: self.path().to_string(),
            format: "ELF",
            reason: e.to_string(),
        })?;
        let machine = goblin::elf::header::machine_to_str(elf.header.e_machine);
        let platform = match machine {
            "X86_64" => "x86_64".to_owned(),
            "AARCH64" => "aarch64".to_owned(),
            "386" => "i686".to_owned(),
            other => other.to_lowercase(),
        };
        Ok(ElfInfo {
            execfn: None,
            platform: Some(platform),
            interpreter: elf.interpreter.map(str::to_owned),
            is_64bit: elf.is_64,
        })
    }
}
