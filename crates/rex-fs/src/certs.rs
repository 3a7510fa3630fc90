//! Certificate verification: `verify_cert` and `verify_cert_chain`, with a `read` check
//! on every file read (the original read them with none).

use rex_policy::Gate;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, UnixTime};
use webpki::{EndEntityCert, KeyUsage};

use crate::error::FsError;
use crate::file::FileHandle;

fn certs(
    f: &FileHandle,
    gate: &Gate,
    max_bytes: usize,
) -> Result<Vec<CertificateDer<'static>>, FsError> {
    let bytes = f.read_bytes(gate, max_bytes)?;
    let bad = |reason: String| FsError::Format {
        path: f.path().to_string(),
        format: "PEM certificate",
        reason,
    };
    let out: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| bad(e.to_string()))?;
    if out.is_empty() {
        return Err(bad("no certificate found".to_owned()));
    }
    Ok(out)
}

fn bad_chain(path: &str, e: &webpki::Error) -> FsError {
    FsError::Format {
        path: path.to_owned(),
        format: "a certificate trusted by the given root",
        reason: format!("{e:?}"),
    }
}

impl FileHandle {
    /// Verifies that this PEM certificate chains to the one in `root_ca` (signatures,
    /// validity now, server-auth usage if present). `read` on `File` of each.
    pub fn verify_cert(
        &self,
        gate: &Gate,
        root_ca: &FileHandle,
        max_bytes: usize,
    ) -> Result<(), FsError> {
        self.verify_cert_chain(gate, root_ca, &[], max_bytes)
    }

    /// As [`FileHandle::verify_cert`], through the intermediate certificates in
    /// `intermediates` (`read` on each).
    pub fn verify_cert_chain(
        &self,
        gate: &Gate,
        root_ca: &FileHandle,
        intermediates: &[FileHandle],
        max_bytes: usize,
    ) -> Result<(), FsError> {
        let leaf = certs(self, gate, max_bytes)?;
        let roots = certs(root_ca, gate, max_bytes)?;
        let mut inter = Vec::new();
        for i in intermediates {
            inter.extend(certs(i, gate, max_bytes)?);
        }
        let path = self.path().as_str();
        let anchors = roots
            .iter()
            .map(|r| webpki::anchor_from_trusted_cert(r).map(|a| a.to_owned()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad_chain(root_ca.path().as_str(), &e))?;
        let Some(first) = leaf.first() else {
            return Err(bad_chain(path, &webpki::Error::BadDer));
        };
        let ee = EndEntityCert::try_from(first).map_err(|e| bad_chain(path, &e))?;
        ee.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &anchors,
            &inter,
            UnixTime::now(),
            KeyUsage::server_auth(),
            None,
            None,
        )
        .map_err(|e| bad_chain(path, &e))?;
        Ok(())
    }
}
