//! The addresses a connection may go to: resolved once, each checked against the
//! policy's `forbid`s, and then connected to without a second lookup.
//!
//! How name rules and address rules combine:
//!
//! - The request itself is always checked with the host as written (normalized): a URL
//!   or endpoint with a name is allowed by a permit on that name; one with an IP literal
//!   by a permit on that address.
//! - When the host is a name, it is resolved once, and every address it resolves to is
//!   asked about as the same request addressed to that IP (for HTTP
//!   `network::url::"http://<ip>:<port>/path"`, for `connect` `network::url::"<ip>:<port>"`,
//!   `host` = the address). If a `forbid` matches any of them, the request is denied
//!   (and that denial is logged); a permit is not needed there, so a permit on a name
//!   keeps working when the name's addresses change, as in the original.
//! - The connection then goes to those checked addresses only (no second lookup), so DNS
//!   rebinding cannot move an allowed name onto a forbidden address.
//!
//! The address question is first put to [`Gate::explain`] (which neither logs nor
//! counts), so an address no rule mentions does not show up as a denial in the decision
//! log, the recorded requests or the run's metrics; whenever a `forbid` matches or
//! evaluation fails, it is asked again with [`Gate::check`], which logs and decides it
//! (in audit mode it lets it through, as for any other denial). Every decision that takes
//! effect is a `check`.

use std::net::IpAddr;

use rex_policy::{Action, DenyReason, Gate, Resource, Verdict};

use crate::budget::Budget;
use crate::error::NetError;
use crate::host::Host;
use crate::resolve::{Resolver, lookup};

/// Resolves `host` (an address is itself) and returns the addresses that no `forbid`
/// refuses for `action` on `resource_for(address)`. Call it only after the request on
/// the host as written was permitted.
pub(crate) fn checked_addresses(
    gate: &Gate,
    act: Action,
    resolver: &Resolver,
    host: &Host,
    budget: &Budget,
    resource_for: impl Fn(IpAddr) -> Resource,
) -> Result<Vec<IpAddr>, NetError> {
    let addrs = lookup(gate, resolver, host, budget)?;
    if let Host::Domain(_) = host {
        for ip in &addrs {
            not_forbidden(gate, act, &resource_for(*ip))?;
        }
    }
    Ok(addrs)
}

/// Ok unless a `forbid` matches `act` on `resource` (or evaluating the policies fails).
fn not_forbidden(gate: &Gate, act: Action, resource: &Resource) -> Result<(), NetError> {
    match gate.explain(act, resource, serde_json::Value::Object(Default::default())) {
        Verdict::Allowed(_) => Ok(()),
        Verdict::Denied(d) if matches!(d.reason(), DenyReason::NoPermit) => Ok(()),
        Verdict::Denied(_) => gate.check(act, resource).map(drop).map_err(NetError::from),
    }
}
