//! The reference table of every fs function, method, builder and module, with the Cedar
//! checks it makes (printed by `rex functions`).

use super::super::{Check, FnDoc, check};

const OPEN_D: Check = check(r#"file_system::Action::"open""#, "file_system::Dir");
const OPEN_F: Check = check(r#"file_system::Action::"open""#, "file_system::File");
const READ_D: Check = check(r#"file_system::Action::"read""#, "file_system::Dir");
const READ_F: Check = check(r#"file_system::Action::"read""#, "file_system::File");
const WRITE_F: Check = check(r#"file_system::Action::"write""#, "file_system::File");
const CREATE_F: Check = check(r#"file_system::Action::"create""#, "file_system::File");
const CREATE_D: Check = check(r#"file_system::Action::"create""#, "file_system::Dir");
const DELETE_F: Check = check(r#"file_system::Action::"delete""#, "file_system::File");
const DELETE_D: Check = check(r#"file_system::Action::"delete""#, "file_system::Dir");
const STAT_F: Check = check(r#"file_system::Action::"stat""#, "file_system::File");
const STAT_D: Check = check(r#"file_system::Action::"stat""#, "file_system::Dir");
const REDACTED_F: Check = check(
    r#"file_system::Action::"redacted_read""#,
    "file_system::File",
);
const CHMOD_F: Check = check(r#"file_system::Action::"chmod""#, "file_system::File");
const CHMOD_D: Check = check(r#"file_system::Action::"chmod""#, "file_system::Dir");
const CHOWN_F: Check = check(r#"file_system::Action::"chown""#, "file_system::File");
const CHOWN_D: Check = check(r#"file_system::Action::"chown""#, "file_system::Dir");
const MOVE_F: Check = check(r#"file_system::Action::"move""#, "file_system::File");
const SET_X_ATTR_F: Check = check(r#"file_system::Action::"set_x_attr""#, "file_system::File");
const EXECUTE_F: Check = check(r#"file_system::Action::"execute""#, "file_system::File");
const MOVE_D: Check = check(r#"file_system::Action::"move""#, "file_system::Dir");

const fn doc(
    name: &'static str,
    signature: &'static str,
    summary: &'static str,
    checks: &'static [Check],
) -> FnDoc {
    FnDoc {
        domain: "fs",
        name,
        signature,
        summary,
        checks,
    }
}

pub(crate) const DOCS: &[FnDoc] = &[
    doc(
        "DirConfig",
        "DirConfig() -> DirConfigBuilder",
        "start a directory config: .path(p) .build()",
        &[],
    ),
    doc(
        "DirConfig.open",
        "DirConfig.open(OpenDirOptions) -> DirHandle",
        "open the directory (created when asked)",
        &[OPEN_D, CREATE_D],
    ),
    doc(
        "OpenDirOptions",
        "OpenDirOptions() -> OpenDirOptionsBuilder",
        "options: .create(b) .recursive(b) .follow_symlinks(b) .build()",
        &[],
    ),
    doc(
        "OpenFileOptions",
        "OpenFileOptions() -> OpenFileOptionsBuilder",
        "options: .read(b) .write(b) .create(b) .permissions(mode) .follow_symlinks(b) .build()",
        &[],
    ),
    doc(
        "DirHandle.open_file",
        "DirHandle.open_file(name, OpenFileOptions) -> FileHandle",
        "open a regular file in the directory",
        &[OPEN_F, CREATE_F],
    ),
    doc(
        "DirHandle.list_entries",
        "DirHandle.list_entries() -> map",
        "entries by name (DirEntry values)",
        &[READ_D],
    ),
    doc(
        "DirHandle.metadata",
        "DirHandle.metadata() -> Metadata",
        "metadata of the directory",
        &[STAT_D],
    ),
    doc(
        "FileHandle.read",
        "FileHandle.read() -> string",
        "the whole file as UTF-8 (within the run's read budget)",
        &[READ_F],
    ),
    doc(
        "FileHandle.metadata",
        "FileHandle.metadata() -> Metadata",
        "metadata of the file",
        &[STAT_F],
    ),
    doc(
        "DirEntry.metadata",
        "DirEntry.metadata() -> Metadata",
        "metadata of the entry (not following a symlink)",
        &[STAT_F, STAT_D],
    ),
    doc(
        "DirEntry.open_as_file",
        "DirEntry.open_as_file(OpenFileOptions) -> FileHandle",
        "open the entry as a file (re-authorized every call)",
        &[OPEN_F, CREATE_F],
    ),
    doc(
        "DirEntry.open_as_dir",
        "DirEntry.open_as_dir(OpenDirOptions) -> DirHandle",
        "open the entry as a directory (re-authorized every call)",
        &[OPEN_D],
    ),
    doc(
        "DirEntry.type",
        "DirEntry.type() -> EntryType",
        "the entry's type; also .name, .inode, to_map()",
        &[],
    ),
    doc(
        "Metadata.type",
        "Metadata.type() .file_size() .last_modified_time() .last_modified_time_nanos_component() .num_hardlinks() .blocks() .allocated_size() .permissions() .symlink_target() .owner to_map()",
        "metadata accessors",
        &[],
    ),
    doc(
        "cat",
        "cat([cat::number], path) -> string",
        "file content; cat::number prefixes line numbers",
        &[OPEN_D, OPEN_F, READ_F],
    ),
    doc(
        "ls",
        "ls([ls::all], path) -> map",
        "directory entries by name; dotfiles only with ls::all",
        &[OPEN_D, READ_D],
    ),
    doc(
        "write",
        "write([write::append | write::replace], path, content)",
        "append (default, also needs read) or replace the file's content; creates it if missing",
        &[OPEN_D, OPEN_F, CREATE_F, READ_F, WRITE_F],
    ),
    doc(
        "touch",
        "touch(path)",
        "create an empty file if missing",
        &[OPEN_D, OPEN_F, CREATE_F],
    ),
    doc(
        "mkdir",
        "mkdir([mkdir::parents], path)",
        "create a directory (and missing parents with mkdir::parents)",
        &[OPEN_D, CREATE_D],
    ),
    doc(
        "rm",
        "rm([rm::force, rm::recursive], path)",
        "remove a file, link or directory; recursive removal authorizes every entry first",
        &[OPEN_D, DELETE_F, DELETE_D],
    ),
    doc("cat::", "cat::{number, n}", "cat flags", &[]),
    doc("ls::", "ls::{all, a, long, l}", "ls flags", &[]),
    doc(
        "write::",
        "write::{append, a, replace, r}",
        "write flags",
        &[],
    ),
    doc("mkdir::", "mkdir::{parents, p}", "mkdir flags", &[]),
    doc("rm::", "rm::{force, f, recursive, r}", "rm flags", &[]),
    doc(
        "EntryType",
        "EntryType::{FILE, DIR, SYMLINK, UNKNOWN, FIFO, SOCKET, CHAR_DEVICE, BLOCK_DEVICE}",
        "entry types",
        &[],
    ),
    doc(
        "IoErrorKind",
        "IoErrorKind::{PermissionDenied, NotFound, ...}",
        "values of e.kind for file errors (e.source == \"IoErrorKind\")",
        &[],
    ),
    // Option builders.
    doc(
        "ReadLinesOptions",
        "ReadLinesOptions() -> builder",
        "options: .count(n) (negative = last n) .start(line) .build()",
        &[],
    ),
    doc(
        "ReadPageOptions",
        "ReadPageOptions() -> builder",
        "options: .num_lines(n) .build()",
        &[],
    ),
    doc(
        "CopyFileOptions",
        "CopyFileOptions() -> builder",
        "options: .force(b) .preserve(b) .build()",
        &[],
    ),
    doc(
        "WriteOptions",
        "WriteOptions() -> builder",
        "options: .preserve_ownership(b) (default true) .build()",
        &[],
    ),
    doc(
        "ReplacementOptions",
        "ReplacementOptions() -> builder",
        "options: .is_regex(b) .replace_all(b) .build()",
        &[],
    ),
    doc(
        "MoveOptions",
        "MoveOptions() -> builder",
        "options: .backup(b) .verbose(b) .build()",
        &[],
    ),
    doc(
        "DeleteDirOptions",
        "DeleteDirOptions() -> builder",
        "options: .force(b) .recursive(b) .build()",
        &[],
    ),
    doc(
        "DeleteFileOptions",
        "DeleteFileOptions() -> builder",
        "options: .force(b) .build()",
        &[],
    ),
    doc(
        "FindOptions",
        "FindOptions() -> builder",
        "options: .name(glob) .iname(glob) .regex(re) .negate_name(b) .size_range(SizeRange) .min_depth(n) .max_depth(n) .min_creation_time(DateTime) .max_creation_time(DateTime) .min_modification_time(DateTime) .max_modification_time(DateTime) (or epoch seconds) .follow_symlinks(b) .skip_denied(b) .build()",
        &[],
    ),
    doc(
        "ChmodDirOptions",
        "ChmodDirOptions() -> builder",
        "options: .permissions(mode) (required) .recursive(b) .skip_denied(b) .build()",
        &[],
    ),
    doc(
        "SetOwnershipOptions",
        "SetOwnershipOptions() -> builder",
        "options: .user(name) .group(name) .recursive(b) .skip_denied(b) .build()",
        &[],
    ),
    doc(
        "DiskUsageOptions",
        "DiskUsageOptions() -> builder",
        "options: .summarize(b) .all_files(b) .one_file_system(b) .count_hard_links(b) .apparent_size(b) .max_depth(n) .track_largest_subdir(b) .skip_denied(b) .build()",
        &[],
    ),
    doc(
        "CreateSymlinkOptions",
        "CreateSymlinkOptions() -> builder",
        "options: .force(b) .build()",
        &[],
    ),
    doc(
        "TruncateOptions",
        "TruncateOptions() -> builder",
        "options: .size(n) .format(SizeUnit) .build()",
        &[],
    ),
    doc(
        "FallocateOptions",
        "FallocateOptions() -> builder",
        "options: .length(n) .format(SizeUnit) .build()",
        &[],
    ),
    doc(
        "SizeUnit",
        "SizeUnit::{BYTES, KILOBYTES, KIBIBYTES, MEGABYTES, MEBIBYTES, GIGABYTES, GIBIBYTES}",
        "size units",
        &[],
    ),
    doc(
        "SizeRange::min_only",
        "SizeRange::{min_only(n, SizeUnit)} -> SizeRange",
        "sizes of at least n units",
        &[],
    ),
    doc(
        "SizeRange::max_only",
        "SizeRange::{max_only(n, SizeUnit)} -> SizeRange",
        "sizes of at most n units",
        &[],
    ),
    doc(
        "SizeRange::between",
        "SizeRange::{between(a, b, SizeUnit)} -> SizeRange",
        "sizes from a to b units",
        &[],
    ),
    // File methods.
    doc(
        "FileHandle.read_lines",
        "FileHandle.read_lines(ReadLinesOptions) -> array",
        "first/last lines, within the read budget",
        &[READ_F],
    ),
    doc(
        "FileHandle.read_page",
        "FileHandle.read_page(ReadPageOptions) -> array",
        "the next page of lines (the handle keeps the offset)",
        &[READ_F],
    ),
    doc(
        "FileHandle.search",
        "FileHandle.search(regex) -> array of Match",
        "matching lines (.line_number, .line_content); redacted_read searches the redacted text",
        &[READ_F, REDACTED_F],
    ),
    doc(
        "FileHandle.write",
        "FileHandle.write(content[, WriteOptions]) -> FileHandle",
        "atomic replace: temp file in the same directory, renamed over the authorized name",
        &[WRITE_F],
    ),
    doc(
        "FileHandle.write_in_place",
        "FileHandle.write_in_place(content)",
        "overwrite in place, truncate, fsync",
        &[WRITE_F],
    ),
    doc(
        "FileHandle.copy",
        "FileHandle.copy(dest FileHandle, CopyFileOptions) -> FileHandle",
        "copy content; non-empty destination needs force; preserve needs chmod on the destination",
        &[READ_F, WRITE_F, CHMOD_F],
    ),
    doc(
        "FileHandle.move",
        "FileHandle.move(dest DirHandle, new_name, MoveOptions) -> FileHandle",
        "rename (copy + delete across filesystems); replacing needs delete on the old destination",
        &[MOVE_F, CREATE_F, DELETE_F],
    ),
    doc(
        "FileHandle.delete",
        "FileHandle.delete([DeleteFileOptions])",
        "remove the file's name (checked to still be the authorized inode)",
        &[DELETE_F],
    ),
    doc(
        "FileHandle.counts",
        "FileHandle.counts() -> WordCount",
        "lines, words, bytes (.line_count .word_count .byte_count)",
        &[READ_F],
    ),
    doc(
        "FileHandle.extract_strings",
        "FileHandle.extract_strings() -> array",
        "printable runs of 4+ characters",
        &[READ_F],
    ),
    doc(
        "FileHandle.get_last_modified_time",
        "FileHandle.get_last_modified_time() -> int",
        "mtime, epoch seconds",
        &[STAT_F],
    ),
    doc(
        "FileHandle.get_ownership",
        "FileHandle.get_ownership() -> Ownership",
        "owner names (.user .group)",
        &[STAT_F],
    ),
    doc(
        "FileHandle.chmod",
        "FileHandle.chmod(mode)",
        "set permission bits (at most 0o777)",
        &[CHMOD_F],
    ),
    doc(
        "FileHandle.set_ownership",
        "FileHandle.set_ownership(SetOwnershipOptions)",
        "change owner/group",
        &[CHOWN_F],
    ),
    doc(
        "FileHandle.disk_usage",
        "FileHandle.disk_usage(DiskUsageOptions) -> DiskUsageEntry",
        "the file's usage",
        &[STAT_F],
    ),
    doc(
        "FileHandle.truncate",
        "FileHandle.truncate(TruncateOptions)",
        "set the size",
        &[WRITE_F],
    ),
    doc(
        "FileHandle.fallocate",
        "FileHandle.fallocate(FallocateOptions)",
        "allocate space",
        &[WRITE_F],
    ),
    // Directory methods.
    doc(
        "DirHandle.delete",
        "DirHandle.delete([DeleteDirOptions])",
        "remove the directory; recursive authorizes every entry before removing anything",
        &[DELETE_D, DELETE_F],
    ),
    doc(
        "DirHandle.find",
        "DirHandle.find(FindOptions, callback) -> array of skipped paths",
        "walk and call back with each matching DirEntry; a refused entry is an error unless skip_denied",
        &[READ_D, OPEN_D, STAT_F, STAT_D],
    ),
    doc(
        "DirHandle.read_link_target",
        "DirHandle.read_link_target(name) -> string",
        "a symlink's target text",
        &[READ_F],
    ),
    doc(
        "DirHandle.get_ownership",
        "DirHandle.get_ownership() -> Ownership",
        "owner names",
        &[STAT_D],
    ),
    doc(
        "DirHandle.chmod",
        "DirHandle.chmod(ChmodDirOptions) -> array of skipped paths",
        "set mode; recursive authorizes every entry first",
        &[CHMOD_D, CHMOD_F, READ_D, OPEN_D],
    ),
    doc(
        "DirHandle.set_ownership",
        "DirHandle.set_ownership(SetOwnershipOptions) -> array of skipped paths",
        "change owner/group; recursive authorizes every entry first",
        &[CHOWN_D, CHOWN_F, READ_D, OPEN_D],
    ),
    doc(
        "DirHandle.create_symlink",
        "DirHandle.create_symlink(target, link_name, CreateSymlinkOptions)",
        "create a symlink (force replaces, needs delete)",
        &[CREATE_F, DELETE_F],
    ),
    doc(
        "DirHandle.disk_usage",
        "DirHandle.disk_usage(DiskUsageOptions) -> DiskUsageResult",
        "du of the tree (.entries .largest_subdir_handle .skipped)",
        &[STAT_D, READ_D, STAT_F, OPEN_D],
    ),
    doc(
        "DirHandle.move",
        "parent.move(src DirHandle, dest_parent DirHandle, new_name, MoveOptions) -> DirHandle",
        "rename a directory of parent; across filesystems, copy the tree then delete it (every entry checked as copy and rm -r would: read+delete on the source, create(+write) on the destination; nothing deleted unless the whole copy succeeded)",
        &[
            MOVE_D, CREATE_D, DELETE_D, OPEN_D, READ_D, READ_F, DELETE_F, CREATE_F, WRITE_F,
        ],
    ),
    doc(
        "DirHandle.open_symlink",
        "DirHandle.open_symlink(name) -> SymlinkHandle",
        "open a symlink itself",
        &[OPEN_F],
    ),
    doc(
        "SymlinkHandle.metadata",
        "SymlinkHandle.metadata() -> Metadata",
        "the link's own metadata",
        &[STAT_F],
    ),
    doc(
        "SymlinkHandle.set_ownership",
        "SymlinkHandle.set_ownership(SetOwnershipOptions)",
        "change the link's own owner",
        &[CHOWN_F],
    ),
    doc(
        "replace_text",
        "replace_text(text, old, new, ReplacementOptions) -> string",
        "pure text replacement",
        &[],
    ),
    // Shell helpers.
    doc(
        "grep",
        "grep([grep::i, grep::c, grep::v, grep::n, grep::max_count(n)], regex, path) -> array",
        "matching lines",
        &[OPEN_D, OPEN_F, READ_F, REDACTED_F],
    ),
    doc(
        "tail",
        "tail([tail::n(k) | tail::from(line) | tail::range(a, b)], path) -> array",
        "last k lines (default 10), from a line, or a range",
        &[OPEN_D, OPEN_F, READ_F],
    ),
    doc(
        "sed",
        "sed([sed::regex, sed::g, sed::i], pattern, replacement, path) -> string",
        "replace text; sed::i writes back in place (needs full read and write)",
        &[OPEN_D, OPEN_F, READ_F, REDACTED_F, WRITE_F],
    ),
    doc(
        "cp",
        "cp([cp::force, cp::preserve], src, dst)",
        "copy a file (into a directory too)",
        &[OPEN_D, OPEN_F, READ_F, WRITE_F, CREATE_F, CHMOD_F],
    ),
    doc(
        "mv",
        "mv([mv::backup, mv::verbose], src, dst)",
        "move a file, link or directory",
        &[OPEN_D, OPEN_F, MOVE_F, MOVE_D, CREATE_F, CREATE_D, DELETE_F],
    ),
    doc(
        "find_files",
        "find_files([glob::recursive], glob, dir) -> array of names",
        "names matching a glob",
        &[OPEN_D, READ_D],
    ),
    doc(
        "glob",
        "glob([glob::recursive], glob, dir) -> array of names",
        "alias of find_files",
        &[OPEN_D, READ_D],
    ),
    doc(
        "du",
        "du([du::s, du::a, du::apparent_size, du::max_depth(n)], path) -> map",
        "#{entries, total_size_bytes, total_inode_count}",
        &[OPEN_D, STAT_D, READ_D, STAT_F],
    ),
    doc(
        "wc",
        "wc([wc::l, wc::w, wc::c], path) -> map",
        "#{lines, words, bytes}",
        &[OPEN_D, OPEN_F, READ_F],
    ),
    doc(
        "seq",
        "seq([seq::step(n)], a, b) -> array",
        "integers a..=b (bounded by the array size limit)",
        &[],
    ),
    doc(
        "awk_split",
        "awk_split(text, delim) -> array",
        "split text",
        &[],
    ),
    doc(
        "awk_field",
        "awk_field(n, delim, path) -> array",
        "field n of each line",
        &[OPEN_D, OPEN_F, READ_F, REDACTED_F],
    ),
    doc(
        "awk_filter",
        "awk_filter(substr, path) -> array",
        "lines containing substr",
        &[OPEN_D, OPEN_F, READ_F, REDACTED_F],
    ),
    doc(
        "awk_filter_field",
        "awk_filter_field(n, delim, substr, path) -> array",
        "lines whose field n contains substr",
        &[OPEN_D, OPEN_F, READ_F, REDACTED_F],
    ),
    doc(
        "awk_sum",
        "awk_sum(n, delim, path) -> float",
        "sum of field n",
        &[OPEN_D, OPEN_F, READ_F, REDACTED_F],
    ),
    doc(
        "awk_count_unique",
        "awk_count_unique(n, delim, path) -> map",
        "count of each value of field n",
        &[OPEN_D, OPEN_F, READ_F, REDACTED_F],
    ),
    doc(
        "awk_filter_range",
        "awk_filter_range(start, end, path) -> array",
        "lines start..=end",
        &[OPEN_D, OPEN_F, READ_F, REDACTED_F],
    ),
    doc(
        "grep::",
        "grep::{ignore_case, i, count, c, invert, v, line_number, n}",
        "grep flags",
        &[],
    ),
    doc(
        "grep::max_count",
        "grep::{max_count(n)}",
        "grep flag: stop after n lines",
        &[],
    ),
    doc("grep::m", "grep::{m(n)}", "alias of grep::max_count", &[]),
    doc(
        "tail::n",
        "tail::{n(k)}",
        "tail flag: last k lines (as tail -n k)",
        &[],
    ),
    doc(
        "tail::from",
        "tail::{from(line)}",
        "tail flag: from a line to the end",
        &[],
    ),
    doc(
        "tail::range",
        "tail::{range(a, b)}",
        "tail flag: lines a..=b",
        &[],
    ),
    doc(
        "sed::",
        "sed::{regex, all, g, in_place, i}",
        "sed flags",
        &[],
    ),
    doc("cp::", "cp::{force, f, preserve, p}", "cp flags", &[]),
    doc("mv::", "mv::{backup, b, verbose, v}", "mv flags", &[]),
    doc(
        "glob::",
        "glob::{recursive, r}",
        "find_files/glob flags",
        &[],
    ),
    doc(
        "du::",
        "du::{summarize, s, all_files, a, apparent_size}",
        "du flags",
        &[],
    ),
    doc(
        "du::max_depth",
        "du::{max_depth(n)}",
        "du flag: report entries at most n deep",
        &[],
    ),
    doc("du::d", "du::{d(n)}", "alias of du::max_depth", &[]),
    doc(
        "wc::",
        "wc::{lines, l, words, w, bytes, c}",
        "wc flags",
        &[],
    ),
    doc("seq::step", "seq::{step(n)}", "seq flag: step (not 0)", &[]),
    // gzip, archives, xattrs, ELF, certificates.
    doc(
        "CompressGzipOptions",
        "CompressGzipOptions() -> builder",
        "options: .level(1..9) (default 6) .build()",
        &[],
    ),
    doc(
        "SearchGzipOptions",
        "SearchGzipOptions() -> builder",
        "options: .exclude_pattern(re) .case_insensitive(b) .max_results(n) .build()",
        &[],
    ),
    doc(
        "ExtractArchiveOptions",
        "ExtractArchiveOptions() -> builder",
        "options: .preserve_permissions(b) .preserve_ownership(b) .preserve_timestamps(b) .build()",
        &[],
    ),
    doc(
        "SetXAttrOptions",
        "SetXAttrOptions() -> builder",
        "options: .name(n) .selinux_user(s) .selinux_role(s) .selinux_type(s) .selinux_level(s) .value(s) (user.* names) .build()",
        &[],
    ),
    doc(
        "FileHandle.compress_gzip",
        "FileHandle.compress_gzip(dest FileHandle, CompressGzipOptions)",
        "gzip this file into dest",
        &[READ_F, WRITE_F],
    ),
    doc(
        "FileHandle.read_gzip_lines",
        "FileHandle.read_gzip_lines(ReadLinesOptions) -> array",
        "lines of the decompressed content (decompressed-byte budget)",
        &[READ_F],
    ),
    doc(
        "FileHandle.gzip_info",
        "FileHandle.gzip_info() -> GzipInfo",
        "sizes (.compressed_size_bytes .uncompressed_size_bytes .compression_ratio)",
        &[READ_F],
    ),
    doc(
        "FileHandle.search_gzip",
        "FileHandle.search_gzip(regex, SearchGzipOptions) -> array of Match",
        "matching decompressed lines",
        &[READ_F],
    ),
    doc(
        "FileHandle.search_gzip_exists",
        "FileHandle.search_gzip_exists(regex, SearchGzipOptions) -> bool",
        "whether any decompressed line matches",
        &[READ_F],
    ),
    doc(
        "FileHandle.extract_archive",
        "FileHandle.extract_archive(dest DirHandle, ExtractArchiveOptions) -> array of skipped entries",
        "extract a tar.gz: refuses absolute, .., escaping links; setuid/setgid need chmod",
        &[READ_F, CREATE_D, CREATE_F, WRITE_F, CHMOD_F, CHOWN_F],
    ),
    doc(
        "FileHandle.set_extended_attr",
        "FileHandle.set_extended_attr(SetXAttrOptions)",
        "set security.selinux components or a user.* value (context xattr.name)",
        &[SET_X_ATTR_F],
    ),
    doc(
        "FileHandle.elf_info",
        "FileHandle.elf_info() -> ElfInfo",
        "ELF headers (.execfn .platform .interpreter .is_64bit)",
        &[READ_F],
    ),
    doc(
        "FileHandle.verify_cert",
        "FileHandle.verify_cert(root_ca FileHandle)",
        "verify a PEM certificate against a root (read on both)",
        &[READ_F],
    ),
    doc(
        "FileHandle.verify_cert_chain",
        "FileHandle.verify_cert_chain(root_ca FileHandle, [intermediate FileHandles])",
        "verify through intermediates (read on every file)",
        &[READ_F],
    ),
    doc(
        "ExecuteOptions",
        "ExecuteOptions() -> builder",
        "options: .args([\"-v\", [\"key\", \"value\"]]) .env(#{K: \"v\"}) .capabilities([\"CAP_X\"]) .user(name) .group(name) .namespace(ChildNamespaceOptions) .build()",
        &[],
    ),
    doc(
        "ChildNamespaceOptions",
        "ChildNamespaceOptions() -> builder",
        "options: .target_process(pid) .build()",
        &[],
    ),
    doc(
        "FileHandle.execute",
        "FileHandle.execute(ExecuteOptions) -> ExecuteResult",
        "run the opened inode (empty env, no inherited fds, output caps, run deadline); .stdout .stderr .exit_code .truncated",
        &[EXECUTE_F],
    ),
    doc(
        "CoreDump",
        "CoreDump(exe_path, core_path) -> CoreDump",
        "open an executable and its core dump for gdb",
        &[OPEN_D, OPEN_F],
    ),
    doc(
        "CoreDump.backtrace",
        "CoreDump.backtrace() -> TracedProcess",
        "every thread's stack via gdb (.pid .threads -> .id .tid .frames -> .frame_number .function_name .instruction_ptr .source .line_number)",
        &[READ_F, EXECUTE_F],
    ),
    doc(
        "CoreDump.get_variables",
        "CoreDump.get_variables([thread_id,] frame, [names]) -> map",
        "variable values in a frame via gdb",
        &[READ_F, EXECUTE_F],
    ),
];
