//! The run's principal.

/// The login name of the process's effective uid, or the uid in decimal when it has no
/// passwd entry. Called once per run; the principal never changes afterwards.
///
/// When `/etc/nsswitch.conf` has the C library consult `files` first for `passwd`, and
/// `/etc/passwd` is plainly written and has the uid, the name is read from there: the
/// C library would answer from the same line, and going through it costs a tenth of a
/// millisecond (two attempts to reach `nscd`, its configuration, its module). Anything
/// else asks the C library (`getpwuid_r`).
pub fn effective_user_name() -> String {
    let uid = uzers::get_effective_uid();
    name_from_files(uid).unwrap_or_else(|| name_from_libc(uid))
}

/// The C library's name for `uid` (`getpwuid_r`), or the uid in decimal.
fn name_from_libc(uid: u32) -> String {
    uzers::get_user_by_uid(uid)
        .and_then(|u| u.name().to_str().map(str::to_owned))
        .unwrap_or_else(|| uid.to_string())
}

/// The name `files` gives `uid`, when the C library would ask `files` first.
fn name_from_files(uid: u32) -> Option<String> {
    let conf = std::fs::read_to_string("/etc/nsswitch.conf").ok()?;
    if !files_first(&conf) {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    name_in_passwd(&passwd, uid).map(str::to_owned)
}

/// Whether the `passwd` line of an `nsswitch.conf` names `files` as its first source. A
/// file without the line (where the C library's built-in default applies) or with more
/// than one (versions of the C library differ on which counts) does not count.
fn files_first(conf: &str) -> bool {
    let mut lines = conf.lines().filter_map(|line| {
        let line = line.split('#').next().unwrap_or_default();
        line.trim_start().strip_prefix("passwd:")
    });
    match (lines.next(), lines.next()) {
        (Some(sources), None) => sources.split_whitespace().next() == Some("files"),
        _ => false,
    }
}

/// The name of the first entry for `uid` in the text of a passwd file, as the `files`
/// source reads it. `None` when there is none, and whenever the file has a line this
/// parser does not read exactly as the C library does (then the C library is asked):
/// anything but comments, blank lines and entries of seven fields with a non-empty name
/// and decimal ids; `+`/`-` lines (the `compat` syntax) among them.
fn name_in_passwd(text: &str, uid: u32) -> Option<&str> {
    let mut found = None;
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(':').collect();
        let [name, _, id, gid, _, _, _] = fields.as_slice() else {
            return None;
        };
        let decimal = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if name.is_empty()
            || !name.bytes().all(|b| b.is_ascii_graphic())
            || name.starts_with(['+', '-', '#'])
            || !decimal(id)
            || !decimal(gid)
        {
            return None;
        }
        let id: u32 = id.parse().ok()?;
        if id == uid && found.is_none() {
            found = Some(*name);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_first_reads_the_passwd_line() {
        assert!(files_first("passwd: files systemd\ngroup: files\n"));
        assert!(files_first(
            "# comment\n  passwd:\tfiles [NOTFOUND=return] sss\n"
        ));
        assert!(files_first("passwd: files # then nothing\n"));
        assert!(!files_first("passwd: sss files\n"));
        assert!(!files_first("passwd: compat\n"));
        assert!(!files_first("passwd: filesystem\n"));
        assert!(!files_first("group: files\n"), "no passwd line");
        assert!(!files_first("# passwd: files\n"));
        assert!(!files_first("passwd: files\npasswd: files\n"), "two lines");
    }

    #[test]
    fn the_first_entry_of_the_uid_names_it() {
        let text = "# users\nroot:x:0:0:root:/root:/bin/bash\n\nalice:x:1000:1000::/home/a:/bin/sh\nalias:x:1000:1000::/home/a:/bin/sh\n";
        assert_eq!(name_in_passwd(text, 0), Some("root"));
        assert_eq!(name_in_passwd(text, 1000), Some("alice"));
        assert_eq!(name_in_passwd(text, 1001), None);
    }

    #[test]
    fn a_line_read_otherwise_by_the_c_library_leaves_the_answer_to_it() {
        let ok = "root:x:0:0:root:/root:/bin/bash\n";
        for odd in [
            "+::::::\n",
            "-bob:x:5:5::/:/bin/sh\n",
            "bob:x: 5:5::/:/bin/sh\n",
            "bob:x:5:5::/\n",
            "bob:x:5:5::/:/bin/sh:extra\n",
            ":x:5:5::/:/bin/sh\n",
            "bob:x::5::/:/bin/sh\n",
            "bob:x:5:x::/:/bin/sh\n",
            " bob:x:5:5::/:/bin/sh\n",
            "bob:x:99999999999:5::/:/bin/sh\n",
        ] {
            assert_eq!(name_in_passwd(&format!("{ok}{odd}"), 0), None, "{odd:?}");
            assert_eq!(name_in_passwd(&format!("{odd}{ok}"), 0), None, "{odd:?}");
        }
    }

    /// Differential: for every uid of this machine's `/etc/passwd`, the name read here is
    /// the one the C library gives, and so is the effective user's.
    #[test]
    fn names_match_the_c_library() {
        let text = std::fs::read_to_string("/etc/passwd").unwrap();
        let mut checked = 0;
        for line in text.lines() {
            let Some(uid) = line.split(':').nth(2).and_then(|u| u.parse::<u32>().ok()) else {
                continue;
            };
            if let Some(name) = name_in_passwd(&text, uid) {
                let libc = uzers::get_user_by_uid(uid).unwrap();
                assert_eq!(Some(name), libc.name().to_str(), "uid {uid}");
                checked += 1;
            }
        }
        assert!(checked > 0, "no entry read from /etc/passwd");
        let uid = uzers::get_effective_uid();
        assert_eq!(effective_user_name(), name_from_libc(uid));
    }
}
