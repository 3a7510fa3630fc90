//! What the tools say about themselves, written for a model: what the sandbox allows, how
//! scripts are written, how to read results, errors and denials.

/// The server's instructions, sent once at initialization.
pub const INSTRUCTIONS: &str = "\
rex runs Rhai scripts on this host under a Cedar policy chosen by the operator. You cannot \
change the policy, the principal you run as, or the sandbox: every file, directory, process, \
service, network, DNS and sysctl operation a script makes is asked of the policy first and \
refused unless a permit allows it. Typical workflow: list_functions to find the SDK \
function you need; check_script to catch syntax errors and see which actions the script \
needs and whether literal paths/URLs are permitted; run_script to run it; when a request is \
denied, read `denial.explanation`, then change the script to stay within the policy (or \
tell the user which permit, from `denial.suggested_permit`, the operator would have to add). \
explain_denial answers 'would this one request be allowed?' without running anything.";

/// `run_script`.
pub const RUN_SCRIPT: &str = "\
Run a Rhai script on this host and return its REX output document. The script runs in its \
own process under the operator's fixed Cedar policy and principal (you cannot choose them), \
with a kernel sandbox, a wall-clock limit (timeout_seconds, capped by the operator), memory \
and output limits. The value of the script's last expression is the `output` (maps and \
arrays are printed as text; build a map like #{a: 1} for structured results).

Writing scripts: Rhai syntax (let, fn, if, for x in list, while, loop, try { } catch (e) { }, \
string interpolation `${x}`, maps #{k: v}, arrays [1, 2]). There is no import, no eval, no \
shell and no direct host access: use the SDK functions from list_functions, e.g. \
cat(path), ls(dir), write(path, text), grep(regex, path), tail([tail::n(20)], path), \
ps(), uname(), df(), curl(url), Client().get(url).send(), resolve(host). Paths are \
absolute. Flags go in a leading array: ls([ls::all], \"/var/log\"). info(msg)/warn(msg) \
write to `logs`. `arguments` become variables in the script.

arguments: an object in the REX format, each value tagged with its type: \
{\"name\": {\"stringValue\": \"x\"}, \"n\": {\"longValue\": 5}, \"on\": {\"booleanValue\": true}, \
\"xs\": {\"listValue\": [{\"stringValue\": \"a\"}]}} (also integerValue, doubleValue, mapValue; \
nesting depth at most 2).

Reading the result: `status` is SUCCESS or ERROR. On ERROR, `error.error_type` says why: \
ACCESS_DENIED_EXCEPTION = the policy refused a request the script did not catch; then \
`denial` has the action, the resource (canonical path or URL), the reason (no_permit or \
forbid), `explanation`, the script `line`, and `suggested_permit` (what the operator would \
have to add; you cannot add it). SCRIPT_EXCEPTION = syntax or runtime error, limit or \
timeout (the message has line and position); VALIDATION_EXCEPTION = bad arguments; \
INTERNAL_EXCEPTION / COMMUNICATION_EXCEPTION = the runner failed. A denial inside try/catch \
does not stop the script: the catch gets e.kind and e.message, and every enforced denial is \
also listed in `denied_requests`. Do not retry a denied request unchanged: it will be \
denied again.";

/// `check_script`.
pub const CHECK_SCRIPT: &str = "\
Compile a Rhai script without running it (nothing on the host is touched). Returns \
`compiles`, `errors` (message, line, column), `calls` (each SDK function called, with the \
Cedar checks it can make: action and resource type), `actions` (all actions the script may \
need) and `literal_requests`: for literal absolute paths and http(s) URLs in calls like \
cat(\"/etc/hosts\") or curl(\"https://...\"), the exact request (action, resource) and \
whether the operator's policy would ALLOW or DENY it, with `suggested_permit` for a denial. \
Use it before run_script to fix syntax errors and to see up front which requests the \
policy refuses. `actions` is a superset (some checks happen only on some branches); paths \
built at run time cannot be previewed.";

/// `list_functions`.
pub const LIST_FUNCTIONS: &str = "\
The script API reference: every function a script can call (global functions like cat, \
ls, ps, curl; methods like FileHandle.read; builders like OpenFileOptions(); constants like \
ls::all), each with its signature, a one-line summary, and the Cedar checks it makes \
(action -> resource type), which are what the policy must permit. Filter with `domain` \
(log, metrics, time, fs, proc, sys, net) and/or `query` (substring of name, signature or \
summary) to keep the answer short.";

/// `explain_denial`.
pub const EXPLAIN_DENIAL: &str = "\
Decide one request against the operator's policy for your fixed principal and say why, \
without running anything: ALLOW with the permits that allow it, or DENY with the reason \
(no_permit: nothing permits it; forbid: a forbid policy matches, which no permit can \
override) and, for no_permit, the minimal `suggested_permit`. `action` is a Cedar action \
like file_system::Action::\"read\" (or file_system::read); `resource` a Cedar entity uid \
like file_system::File::\"/var/log/syslog\", file_system::Dir::\"/tmp\" or \
network::url::\"https://example.com/\"; paths must be canonical (absolute, no .., no \
symlinks). `context` (JSON object) is for actions that use it (move, execute, \
set_x_attr); `attributes` (JSON object: host, port, scheme, path, name, username, command, \
hostname, url) for non-file resources. Use the action and resource from a run_script \
`denial` to re-check, or to test alternatives before running.";
