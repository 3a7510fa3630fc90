//! The function calls in a compiled script, found by walking Rhai's AST (never by
//! searching the text), with their string-literal arguments.

use rhai::{ASTNode, Engine, Expr, FnCallExpr, Stmt};

/// One call site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CallSite {
    /// `name` for a function, `Namespace::name` for a namespaced one, `.name` for a
    /// method call.
    pub name: String,
    /// Whether it is a method call (`x.name(...)`).
    pub method: bool,
    /// 1-based line (0 unknown).
    pub line: usize,
    /// 1-based column (0 unknown).
    pub column: usize,
    /// Each argument: `Some(text)` for a string literal, `None` otherwise.
    pub literal_args: Vec<Option<String>>,
}

/// Parses `script` with a bare engine (no functions, no module resolver, `import` and
/// `eval` refused, constants folded) and lists every function and method call in it,
/// including inside script-defined functions, in source order. Calls to functions the
/// script defines itself are left out. Parse errors are `Err` with Rhai's message; callers
/// compile with the real engine first for the authoritative error.
pub(crate) fn calls(script: &str, names_in_scope: &[String]) -> Result<Vec<CallSite>, String> {
    let mut engine = Engine::new_raw();
    engine.disable_symbol("import");
    engine.disable_symbol("eval");
    let limits = rex_engine::Limits::default();
    engine.set_max_expr_depths(limits.max_expr_depth, limits.max_fn_expr_depth);
    let mut scope = rhai::Scope::new();
    for name in names_in_scope {
        scope.push_dynamic(name.clone(), rhai::Dynamic::UNIT);
    }
    let ast = engine
        .compile_with_scope(&scope, script)
        .map_err(|e| e.to_string())?;
    let own: Vec<String> = ast.iter_functions().map(|f| f.name.to_owned()).collect();
    let mut found = Vec::new();
    let mut function = |call: &FnCallExpr, pos: rhai::Position| {
        if call.is_operator_call() {
            return;
        }
        let name = if call.namespace.is_empty() {
            call.name.to_string()
        } else {
            format!("{}::{}", call.namespace, call.name)
        };
        if !(call.namespace.is_empty() && own.contains(&name)) {
            found.push(site(name, false, pos, &call.args));
        }
    };
    let mut methods = Vec::new();
    ast.walk(&mut |path: &[ASTNode]| {
        match path.last() {
            // A call used as a statement is a `Stmt::FnCall`, elsewhere an `Expr::FnCall`.
            Some(ASTNode::Stmt(Stmt::FnCall(call, pos))) => function(call, *pos),
            Some(ASTNode::Expr(Expr::FnCall(call, pos))) => function(call, *pos),
            Some(ASTNode::Expr(Expr::MethodCall(call, pos))) => {
                methods.push(site(call.name.to_string(), true, *pos, &call.args));
            }
            _ => {}
        }
        true
    });
    found.extend(methods);
    found.sort_by_key(|c| (c.line, c.column));
    Ok(found)
}

fn site(name: String, method: bool, pos: rhai::Position, args: &[Expr]) -> CallSite {
    CallSite {
        name,
        method,
        line: pos.line().unwrap_or(0),
        column: pos.position().unwrap_or(0),
        literal_args: args
            .iter()
            .map(|a| match a {
                Expr::StringConstant(s, _) => Some(s.to_string()),
                _ => None,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_functions_methods_namespaces_and_literals() {
        let script = r#"
            fn helper(x) { cat(x) }
            let t = cat("/etc/hostname");
            let d = DirConfig().path("/tmp").build();
            let n = SizeRange::min_only(1, SizeUnit::BYTES);
            write(write::append, "/tmp/out", t + "!");
            helper("/etc/os-release")
        "#;
        let found = calls(script, &[]).unwrap();
        let names: Vec<&str> = found.iter().map(|c| c.name.as_str()).collect();
        assert!(names.contains(&"cat"), "{names:?}");
        assert!(names.contains(&"DirConfig"), "{names:?}");
        assert!(names.contains(&"path"), "{names:?}");
        assert!(names.contains(&"SizeRange::min_only"), "{names:?}");
        assert!(names.contains(&"write"), "{names:?}");
        assert!(
            !names.contains(&"helper"),
            "own functions are left out: {names:?}"
        );
        assert!(!names.contains(&"+"), "operators are left out: {names:?}");
        let cat = found
            .iter()
            .find(|c| c.name == "cat" && c.line == 3)
            .unwrap();
        assert_eq!(cat.literal_args, vec![Some("/etc/hostname".to_owned())]);
        let write = found.iter().find(|c| c.name == "write").unwrap();
        assert_eq!(
            write.literal_args.get(1),
            Some(&Some("/tmp/out".to_owned()))
        );
        assert!(found.iter().find(|c| c.name == "path").unwrap().method);
        // Inside the script's own function too.
        assert!(found.iter().any(|c| c.name == "cat" && c.line == 2));
    }

    #[test]
    fn argument_names_are_known_variables() {
        let found = calls("cat(file)", &["file".to_owned()]).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].literal_args, vec![None]);
    }
}
