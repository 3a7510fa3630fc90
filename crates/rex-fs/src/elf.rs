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
            execfn: core_execfn(&elf, &bytes),
            platform: Some(platform),
            interpreter: elf.interpreter.map(str::to_owned),
            is_64bit: elf.is_64,
        })
    }
}

/// `AT_EXECFN` of a core dump: the address in the process's auxiliary vector (the
/// `NT_AUXV` note), read from the memory image of the `PT_LOAD` segment that holds it.
/// `None` for other files, or when the core does not contain that page.
fn core_execfn(elf: &Elf<'_>, bytes: &[u8]) -> Option<String> {
    const NT_AUXV: u32 = 6;
    const AT_EXECFN: u64 = 31;
    const MAX_PATH: usize = 4096;
    if elf.header.e_type != goblin::elf::header::ET_CORE {
        return None;
    }
    let word = if elf.is_64 { 8 } else { 4 };
    let read_word = |b: &[u8]| -> Option<u64> {
        Some(match (word, elf.little_endian) {
            (8, true) => u64::from_le_bytes(b.try_into().ok()?),
            (8, false) => u64::from_be_bytes(b.try_into().ok()?),
            (_, true) => u64::from(u32::from_le_bytes(b.try_into().ok()?)),
            (_, false) => u64::from(u32::from_be_bytes(b.try_into().ok()?)),
        })
    };
    let auxv = elf
        .iter_note_headers(bytes)?
        .filter_map(Result::ok)
        .find(|n| n.n_type == NT_AUXV)?;
    let addr = auxv.desc.chunks_exact(2 * word).find_map(|entry| {
        let (key, value) = entry.split_at(word);
        (read_word(key)? == AT_EXECFN)
            .then(|| read_word(value))
            .flatten()
    })?;
    let segment = elf.program_headers.iter().find(|ph| {
        ph.p_type == goblin::elf::program_header::PT_LOAD
            && addr >= ph.p_vaddr
            && addr - ph.p_vaddr < ph.p_filesz
    })?;
    let start = usize::try_from(segment.p_offset.checked_add(addr - segment.p_vaddr)?).ok()?;
    let end = usize::try_from(segment.p_offset.checked_add(segment.p_filesz)?).ok()?;
    let image = bytes.get(start..end.min(bytes.len()))?;
    let image = &image[..image.len().min(MAX_PATH)];
    let len = image.iter().position(|b| *b == 0)?;
    Some(String::from_utf8_lossy(&image[..len]).into_owned())
}
