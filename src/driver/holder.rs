//! The holder image: the container that owns an awsvpc task's network namespace, so that the
//! task's containers can come and go while its IP and published ports stay.
//!
//! No image can be pulled offline, so berth makes this one itself: a root file system holding
//! one static executable, `/holder`, imported with `docker import`. The executable is a few bytes
//! of machine code that sleep forever (`pause(2)` on x86-64, `ppoll(2)` on AArch64), wrapped in
//! a minimal ELF header built below. As PID 1 it ignores SIGTERM, which does not matter: berth
//! removes holders with force (SIGKILL).

/// The image reference berth gives its holder image.
pub const IMAGE: &str = concat!("berth/holder:", env!("CARGO_PKG_VERSION"));

/// The path of the executable inside the image.
pub const ENTRYPOINT: &str = "/holder";

const LOAD_ADDRESS: u64 = 0x40_0000;
const ELF_HEADER_LEN: u16 = 64;
const PROGRAM_HEADER_LEN: u16 = 56;

/// The holder's machine code for an architecture (Docker's `Arch` names), if berth has one.
fn code(arch: &str) -> Option<Vec<u8>> {
    match arch {
        // loop: mov eax, 34 (pause); syscall; jmp loop
        "amd64" | "x86_64" => Some(vec![0xb8, 0x22, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xeb, 0xf7]),
        // loop: mov x0..x3, #0; mov x8, #73 (ppoll); svc #0; b loop
        "arm64" | "aarch64" => Some(
            [0xd280_0000_u32, 0xd280_0001, 0xd280_0002, 0xd280_0003, 0xd280_0928, 0xd400_0001, 0x17ff_fffa]
                .iter()
                .flat_map(|w| w.to_le_bytes())
                .collect(),
        ),
        _ => None,
    }
}

fn machine(arch: &str) -> u16 {
    if matches!(arch, "arm64" | "aarch64") { 183 } else { 62 }
}

/// A static ELF executable that sleeps forever, for `arch`.
#[must_use]
pub fn executable(arch: &str) -> Option<Vec<u8>> {
    let code = code(arch)?;
    let header_len = u64::from(ELF_HEADER_LEN + PROGRAM_HEADER_LEN);
    let total = header_len + code.len() as u64;
    let mut elf = Vec::with_capacity(usize::try_from(total).ok()?);
    // ELF header.
    elf.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]); // 64-bit, little-endian, SysV
    elf.extend_from_slice(&[0; 8]);
    elf.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    elf.extend_from_slice(&machine(arch).to_le_bytes());
    elf.extend_from_slice(&1u32.to_le_bytes()); // EV_CURRENT
    elf.extend_from_slice(&(LOAD_ADDRESS + header_len).to_le_bytes()); // entry point
    elf.extend_from_slice(&u64::from(ELF_HEADER_LEN).to_le_bytes()); // program headers offset
    elf.extend_from_slice(&0u64.to_le_bytes()); // no section headers
    elf.extend_from_slice(&0u32.to_le_bytes()); // flags
    elf.extend_from_slice(&ELF_HEADER_LEN.to_le_bytes());
    elf.extend_from_slice(&PROGRAM_HEADER_LEN.to_le_bytes());
    elf.extend_from_slice(&1u16.to_le_bytes()); // one program header
    elf.extend_from_slice(&[0; 6]); // section header size, count, name index
    // Program header: load the whole file, readable and executable.
    elf.extend_from_slice(&1u32.to_le_bytes()); // PT_LOAD
    elf.extend_from_slice(&5u32.to_le_bytes()); // PF_R | PF_X
    elf.extend_from_slice(&0u64.to_le_bytes()); // offset
    elf.extend_from_slice(&LOAD_ADDRESS.to_le_bytes()); // virtual address
    elf.extend_from_slice(&LOAD_ADDRESS.to_le_bytes()); // physical address
    elf.extend_from_slice(&total.to_le_bytes()); // size in the file
    elf.extend_from_slice(&total.to_le_bytes()); // size in memory
    elf.extend_from_slice(&0x1000u64.to_le_bytes()); // alignment
    elf.extend_from_slice(&code);
    Some(elf)
}

/// The holder's root file system as a tar archive, for `docker import`.
///
/// # Errors
/// When berth has no holder code for `arch`, or the archive cannot be written.
pub fn root_fs(arch: &str) -> std::io::Result<Vec<u8>> {
    let executable = executable(arch).ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::Unsupported, format!("berth has no holder executable for {arch}"))
    })?;
    let mut archive = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(executable.len() as u64);
    header.set_mode(0o755);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    archive.append_data(&mut header, "holder", executable.as_slice())?;
    archive.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executables_are_well_formed_elf() {
        for arch in ["amd64", "arm64"] {
            let elf = executable(arch).unwrap();
            assert_eq!(&elf[..4], b"\x7fELF");
            let entry = u64::from_le_bytes(elf[24..32].try_into().unwrap());
            assert_eq!(entry, LOAD_ADDRESS + 120);
            let file_size = u64::from_le_bytes(elf[96..104].try_into().unwrap());
            assert_eq!(file_size, elf.len() as u64);
        }
        assert!(executable("s390x").is_none());
    }

    #[test]
    fn root_fs_is_a_tar_with_the_executable() {
        let tar_bytes = root_fs("amd64").unwrap();
        let mut archive = tar::Archive::new(tar_bytes.as_slice());
        let entries: Vec<String> =
            archive.entries().unwrap().map(|e| e.unwrap().path().unwrap().display().to_string()).collect();
        assert_eq!(entries, ["holder"]);
    }

    /// The x86-64 holder really sleeps: run it and see it still alive after a moment.
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    #[test]
    fn amd64_holder_runs_and_sleeps() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("holder");
        std::fs::write(&path, executable("amd64").unwrap()).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut child = std::process::Command::new(&path).spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(child.try_wait().unwrap().is_none(), "the holder exited");
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
