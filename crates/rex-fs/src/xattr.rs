//! Extended attributes: `set_extended_attr` (SELinux label components, as the original,
//! and plain `user.*` values, a rex addition), through the inode the handle holds.

use rex_policy::action::fs::SET_X_ATTR;
use rex_policy::{Gate, Resource};
use rustix::fs::XattrFlags;

use crate::error::FsError;
use crate::file::FileHandle;

/// Options of [`FileHandle::set_extended_attr`] (the original `SetXAttrOptions()`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetXAttrOptions {
    /// Attribute name (required): `security.selinux`, or a `user.*` name.
    pub name: String,
    /// SELinux user component.
    pub selinux_user: Option<String>,
    /// SELinux role component.
    pub selinux_role: Option<String>,
    /// SELinux type component.
    pub selinux_type: Option<String>,
    /// SELinux level component.
    pub selinux_level: Option<String>,
    /// The value of a `user.*` attribute. rex addition.
    pub value: Option<String>,
}

const SELINUX: &str = "security.selinux";

fn proc_path(fd: impl rustix::fd::AsFd) -> String {
    format!(
        "/proc/self/fd/{}",
        rustix::path::DecInt::from_fd(fd).as_ref().to_string_lossy()
    )
}

impl FileHandle {
    /// Sets an extended attribute on the inode the handle holds (reached through its
    /// `/proc/self/fd` magic link). Needs `set_x_attr` on `File(path)` with context
    /// `xattr.name`. For `security.selinux` the given components replace those of the
    /// current `user:role:type:level` label; for `user.*` names `value` is stored. Other
    /// names are `UnsupportedOperationError`. Linux only.
    pub fn set_extended_attr(&self, gate: &Gate, opts: &SetXAttrOptions) -> Result<(), FsError> {
        if opts.name.is_empty() {
            return Err(FsError::InvalidArguments(
                "set_extended_attr: field not initialized: `name`".to_owned(),
            ));
        }
        let value = if opts.name == SELINUX {
            None
        } else if opts.name.starts_with("user.") {
            Some(opts.value.clone().ok_or_else(|| {
                FsError::InvalidArguments(
                    "set_extended_attr: `value` is required for user.* names".to_owned(),
                )
            })?)
        } else {
            return Err(FsError::Unsupported(format!(
                "extended attribute `{}` (only security.selinux and user.*)",
                opts.name
            )));
        };
        let ctx = serde_json::json!({"xattr": {"name": opts.name}});
        gate.check_with_context(SET_X_ATTR, &Resource::file(self.path()), ctx)?;
        let path = self.path().as_str();
        let magic = proc_path(self.fd());
        let value = match value {
            Some(v) => v,
            None => {
                let mut buf = Vec::new();
                let current = match rustix::fs::getxattr(magic.as_str(), SELINUX, &mut buf) {
                    Ok(n) => String::from_utf8_lossy(buf.get(..n).unwrap_or_default())
                        .trim_end_matches('\0')
                        .to_owned(),
                    Err(e) => return Err(FsError::os("read the SELinux label of", path, e)),
                };
                let mut parts: Vec<String> = current.splitn(4, ':').map(str::to_owned).collect();
                parts.resize(4, String::new());
                for (i, v) in [
                    &opts.selinux_user,
                    &opts.selinux_role,
                    &opts.selinux_type,
                    &opts.selinux_level,
                ]
                .into_iter()
                .enumerate()
                {
                    if let (Some(v), Some(slot)) = (v, parts.get_mut(i)) {
                        slot.clone_from(v);
                    }
                }
                parts.join(":")
            }
        };
        rustix::fs::setxattr(
            magic.as_str(),
            opts.name.as_str(),
            value.as_bytes(),
            XattrFlags::empty(),
        )
        .map_err(|e| FsError::os("set extended attribute on", path, e))
    }
}
