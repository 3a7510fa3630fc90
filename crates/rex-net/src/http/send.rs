//! One `send`: every hop checked, resolved once, connected to a checked address.

use rex_policy::{Gate, Permit};

use super::conn::Conn;
use super::wire::{Reader, write_request};
use super::{DEFAULT_TIMEOUT, MAX_REDIRECTS, Method, Request, Response};
use crate::address::checked_addresses;
use crate::budget::Budget;
use crate::error::NetError;
use crate::target::HttpTarget;
use crate::tcp::connect_tcp;

pub(super) fn send(req: &Request, gate: &Gate, budget: &Budget) -> Result<Response, NetError> {
    let budget = budget.within(req.client.timeout.unwrap_or(DEFAULT_TIMEOUT));
    let cap = req
        .client
        .max_text_bytes
        .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX))
        .min(budget.max_bytes);
    let mut target = HttpTarget::parse(&req.url)?;
    let mut method = req.method;
    let mut body = req.body.clone();
    let mut headers = req.headers.clone();
    let mut hops = 0;
    loop {
        let permit = gate.check(method.action(), &target.resource())?;
        let mut conn = open(
            gate,
            &permit,
            &target,
            &req.client.resolver,
            method,
            &budget,
        )?;
        write_request(
            &mut conn,
            &target,
            method,
            &headers,
            body.as_deref(),
            &budget,
        )?;
        let mut reader = Reader::new(&mut conn, target.as_str(), budget);
        let head = reader.head()?;
        let location = head.get("location").filter(|l| !l.is_empty());
        if let (true, Some(location)) = (is_redirect(head.status), location) {
            let next = target.join(location)?;
            hops += 1;
            if hops > MAX_REDIRECTS {
                return Err(NetError::TooManyRedirects {
                    url: next.as_str().to_owned(),
                    limit: MAX_REDIRECTS,
                });
            }
            // 303, and 301/302 after a POST, continue as GET without the body (what
            // browsers and curl do); 307/308 repeat the method and body.
            if head.status == 303 || (method == Method::Post && matches!(head.status, 301 | 302)) {
                method = Method::Get;
                body = None;
            }
            // Script headers (credentials, cookies) go to the origin they were meant for only.
            if !next.same_origin(&target) {
                headers.clear();
            }
            target = next;
            continue;
        }
        let (data, truncated) = reader.body(&head, cap)?;
        return Ok(Response {
            status: head.status,
            text: String::from_utf8_lossy(&data).into_owned(),
            headers: head.headers,
            url: target.as_str().to_owned(),
            truncated,
        });
    }
}

fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// Connects for the permitted request on `target`: resolve once, check each address
/// against `forbid`s, connect to a checked address, then TLS for https.
fn open(
    gate: &Gate,
    permit: &Permit,
    target: &HttpTarget,
    resolver: &crate::resolve::Resolver,
    method: Method,
    budget: &Budget,
) -> Result<Conn, NetError> {
    if permit.resource_id() != target.as_str() || permit.action() != method.action() {
        return Err(NetError::Internal(format!(
            "permit for `{}` used for `{}`",
            permit.resource_id(),
            target.as_str()
        )));
    }
    let addrs = checked_addresses(
        gate,
        method.action(),
        resolver,
        target.host(),
        budget,
        |ip| target.address_resource(ip),
    )?;
    let tcp = connect_tcp(&addrs, target.port(), budget, target.as_str())?;
    if target.scheme() == "https" {
        super::tls::wrap(tcp, target.host(), budget)
    } else {
        Ok(Conn::Plain(tcp))
    }
}
