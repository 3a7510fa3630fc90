//! Native baseline for the benchmarks: `native_read PATH N` reads PATH N times with
//! `std::fs::read` and prints the total byte count.

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(path), Some(n)) = (args.next(), args.next().and_then(|n| n.parse::<u64>().ok()))
    else {
        eprintln!("usage: native_read PATH N");
        std::process::exit(2);
    };
    let mut total = 0usize;
    for _ in 0..n {
        match std::fs::read(&path) {
            Ok(bytes) => total += bytes.len(),
            Err(e) => {
                eprintln!("cannot read `{path}`: {e}");
                std::process::exit(1);
            }
        }
    }
    println!("{total}");
}
