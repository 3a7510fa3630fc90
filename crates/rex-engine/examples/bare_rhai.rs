//! Baseline for the benchmarks: `bare_rhai SCRIPT N PATH` runs SCRIPT on a bare
//! `rhai::Engine::new()` (no limits, no progress callback, no SDK) with the variables `n`
//! and `path` in scope, and prints the result. `bench/run.sh` times it against the
//! runner on the same compute loop to measure what rex's engine configuration costs.
//! With a fourth argument `progress`, an empty `on_progress` callback is installed (to
//! measure what the callback mechanism alone costs).

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(script), Some(n), Some(path)) = (
        args.next(),
        args.next().and_then(|n| n.parse::<i64>().ok()),
        args.next(),
    ) else {
        eprintln!("usage: bare_rhai SCRIPT N PATH");
        std::process::exit(2);
    };
    let text = match std::fs::read_to_string(&script) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot read `{script}`: {e}");
            std::process::exit(1);
        }
    };
    let mut engine = rhai::Engine::new();
    if args.next().as_deref() == Some("progress") {
        engine.on_progress(|_| None);
    }
    let mut scope = rhai::Scope::new();
    scope.push("n", n);
    scope.push("path", path);
    match engine.eval_with_scope::<rhai::Dynamic>(&mut scope, &text) {
        Ok(v) => println!("{v}"),
        Err(e) => {
            eprintln!("script failed: {e}");
            std::process::exit(1);
        }
    }
}
