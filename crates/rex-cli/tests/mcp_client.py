"""End-to-end test of `rex mcp` with the official MCP Python SDK (`pip install mcp`).

Usage: mcp_client.py REX_BIN POLICY DIR

DIR holds `data.txt` (the policy lets principal `agent` read it) and `secret.txt` (it
does not). The script starts `REX_BIN mcp -p POLICY --principal agent --audit-log
DIR/audit.jsonl` over stdio, lists the tools, runs a permitted and a forbidden script,
checks a script, explains a denial, and exits non-zero with a message on the first
failed expectation. Run by crates/rex-cli/tests/mcp.rs; a missing `mcp` package fails.
"""

import json
import os
import sys

import anyio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


def expect(cond, what, detail=None):
    if not cond:
        extra = "" if detail is None else f"\n--- detail ---\n{detail}"
        raise AssertionError(f"FAILED: {what}{extra}")
    print(f"ok: {what}")


def text_of(result):
    return "\n".join(getattr(c, "text", "") for c in result.content)


async def main(rex_bin, policy, workdir):
    data = os.path.join(workdir, "data.txt")
    secret = os.path.join(workdir, "secret.txt")
    audit = os.path.join(workdir, "audit.jsonl")
    params = StdioServerParameters(
        command=rex_bin,
        args=["mcp", "-p", policy, "--principal", "agent", "--audit-log", audit, "--timeout", "20"],
    )
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            expect(init.server_info.name == "rex", "server identifies as rex", init)

            tools = (await session.list_tools()).tools
            names = sorted(t.name for t in tools)
            expect(
                names == ["check_script", "explain_denial", "list_functions", "run_script"],
                "the four tools are listed",
                names,
            )
            run_tool = next(t for t in tools if t.name == "run_script")
            expect("ACCESS_DENIED_EXCEPTION" in (run_tool.description or ""), "run_script explains denials to the model")
            expect("script" in run_tool.input_schema.get("properties", {}), "run_script takes `script`", run_tool.input_schema)
            expect(
                "principal" not in run_tool.input_schema.get("properties", {}),
                "no tool parameter names a principal",
                run_tool.input_schema,
            )

            # A permitted script: read data.txt, named by an argument.
            ok = await session.call_tool(
                "run_script",
                {
                    "script": 'let t = cat(path); info("read it"); t',
                    "arguments": {"path": {"stringValue": data}},
                },
            )
            doc = ok.structured_content
            expect(not ok.is_error, "permitted script is not an error", doc)
            expect(doc["status"] == "SUCCESS", "permitted script succeeds", doc)
            expect(doc["output"] == "hello from data\n", "permitted script returns the file's text", doc)
            expect(doc["job_id"].startswith("mcp-"), "the result carries its job id", doc)
            expect("denial" not in doc, "no denial on success", doc)

            # A forbidden one: read secret.txt.
            denied = await session.call_tool("run_script", {"script": f'cat("{secret}")'})
            doc = denied.structured_content
            expect(denied.is_error, "a denial is a tool result flagged isError (not a protocol error)", doc)
            expect(doc["status"] == "ERROR", "forbidden script ends in ERROR", doc)
            expect(doc["error"]["error_type"] == "ACCESS_DENIED_EXCEPTION", "error type is ACCESS_DENIED_EXCEPTION", doc)
            d = doc.get("denial")
            expect(d is not None, "the result explains the denial", doc)
            expect(d["action"] == 'file_system::Action::"open"' or d["action"] == 'file_system::Action::"read"',
                   "denial names the refused action", d)
            expect(d["resource"] == f'file_system::File::"{secret}"', "denial names the canonical file", d)
            expect(d["reason"] == "no_permit", "denial reason is no_permit", d)
            expect(d["principal"] == "agent", "denial is for the fixed principal", d)
            expect(d["suggested_permit"].startswith('permit (principal == User::"agent"'), "denial suggests the permit", d)
            expect(secret in d["suggested_permit"], "suggested permit names the file", d)
            expect("unauthorized" in d["explanation"] and "to allow exactly this request" in d["explanation"],
                   "denial carries the explanation", d)
            expect(d["line"] == 1, "denial points at the script line", d)
            expect("secret data" not in json.dumps(doc), "the secret's content is not in the result", doc)
            expect("to allow exactly this request" in text_of(denied), "the text content explains the denial too")

            # The agent cannot smuggle a principal in.
            try:
                smuggled = await session.call_tool("run_script", {"script": "40 + 2", "principal": "root"})
                expect(smuggled.is_error, "an unknown `principal` parameter is refused", smuggled)
            except Exception as e:  # a protocol error is a refusal too
                print(f"ok: an unknown `principal` parameter is refused ({type(e).__name__})")

            # check_script: a syntax error with its position, and a literal request preview.
            bad = await session.call_tool("check_script", {"script": "let x = 1;\nlet y = ;\n"})
            rep = bad.structured_content
            expect(rep["compiles"] is False, "check_script reports a syntax error", rep)
            expect(rep["errors"][0]["line"] == 2, "the syntax error has its line", rep)
            chk = await session.call_tool("check_script", {"script": f'let a = cat("{data}");\nlet b = cat("{secret}");\na + b'})
            rep = chk.structured_content
            expect(rep["compiles"] is True, "check_script compiles a good script", rep)
            expect('file_system::Action::"read"' in rep["actions"], "check_script lists the read action", rep)
            reads = {(r["resource"], r["decision"]) for r in rep["literal_requests"] if r["action"] == 'file_system::Action::"read"'}
            expect((f'file_system::File::"{data}"', "ALLOW") in reads, "the literal read of data.txt would be allowed", rep)
            expect((f'file_system::File::"{secret}"', "DENY") in reads, "the literal read of secret.txt would be denied", rep)

            # explain_denial.
            ex = await session.call_tool(
                "explain_denial",
                {"action": 'file_system::Action::"read"', "resource": f'file_system::File::"{secret}"'},
            )
            e = ex.structured_content
            expect(e["decision"] == "DENY" and e["reason"] == "no_permit", "explain_denial denies the secret", e)
            expect(e["suggested_permit"].startswith('permit (principal == User::"agent"'), "explain_denial suggests the permit", e)
            ex = await session.call_tool(
                "explain_denial",
                {"action": "file_system::read", "resource": f'file_system::File::"{data}"'},
            )
            e = ex.structured_content
            expect(e["decision"] == "ALLOW" and e["policies"], "explain_denial allows data.txt and cites the permit", e)

            # list_functions.
            lf = await session.call_tool("list_functions", {"query": "cat"})
            fns = lf.structured_content["functions"]
            expect(any(f["name"] == "cat" for f in fns), "list_functions finds `cat`", fns)

    with open(audit) as f:
        records = [json.loads(line) for line in f if line.strip()]
    decisions = [r for r in records if "decision" in r]
    expect(decisions and all(r["principal"] == "agent" for r in decisions), "every decision is logged for the principal", records)
    expect(all(r.get("job", "").startswith("mcp-") for r in decisions), "every decision carries its job id", records)
    expect(any(r["decision"] == "deny" and secret in r["resource"] for r in decisions), "the denial is in the decision log", records)
    print("mcp client: all checks passed")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: mcp_client.py REX_BIN POLICY DIR")

    async def run():
        with anyio.fail_after(120):
            await main(*sys.argv[1:])

    anyio.run(run)
