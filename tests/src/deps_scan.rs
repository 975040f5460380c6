//! Keeps `scripts/deps.sh` true: every outside program a test, script or benchmark starts must
//! be in its manifest (`program NAME ...` and `base NAME ...` lines), or a fresh machine fails
//! where a developer's machine, with the program installed by hand, passes.
//!
//! The scan finds programs started by name: `Command::new("curl")` in Rust,
//! `subprocess.run(["node", ...])` in Python, and the command words of shell scripts. Programs
//! started by path (`Command::new(&bin)`, `"$root/scripts/x.sh"`) are the project's own.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// A program a source file starts, and where.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Started {
    /// The program's name, as looked up on `PATH`.
    pub program: String,
    /// `path:line`.
    pub at: String,
}

/// The programs `scripts/deps.sh` installs or checks: the names of its manifest's `program`
/// lines and every name on its `base` lines.
pub fn manifest(deps_sh: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in deps_sh.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("program") => names.extend(words.next().map(str::to_owned)),
            Some("base") => names.extend(words.map(str::to_owned)),
            _ => {}
        }
    }
    names
}

/// Programs started by name in Rust source: `Command::new("NAME")`.
pub fn started_in_rust(source: &str, path: &str) -> Vec<Started> {
    literal_calls(source, path, &["Command::new(\""])
}

/// Programs started by name in Python source: the first element of a literal argument list of
/// `subprocess.run`, `Popen`, `check_output` or `check_call`.
pub fn started_in_python(source: &str, path: &str) -> Vec<Started> {
    literal_calls(
        source,
        path,
        &[
            "subprocess.run([\"",
            "subprocess.Popen([\"",
            "subprocess.check_output([\"",
            "subprocess.check_call([\"",
        ],
    )
}

fn literal_calls(source: &str, path: &str, openers: &[&str]) -> Vec<Started> {
    let mut found = Vec::new();
    for (n, line) in source.lines().enumerate() {
        for opener in openers {
            let mut rest = line;
            while let Some(i) = rest.find(opener) {
                rest = &rest[i + opener.len()..];
                let name: String = rest.chars().take_while(|c| *c != '"').collect();
                if !name.is_empty() && !name.contains('/') {
                    found.push(Started {
                        program: name,
                        at: format!("{path}:{}", n + 1),
                    });
                }
            }
        }
    }
    found
}

/// Shell words that are syntax, builtins or wrappers, never programs of their own.
const SHELL_WORDS: &[&str] = &[
    "if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac",
    "in", "function", "return", "local", "declare", "export", "readonly", "set", "unset", "shift",
    "exit", "break", "continue", "trap", "eval", "source", ".", "read", "printf", "echo", "cd",
    "test", "true", "false", "wait", "mapfile", "let", "shopt", "type", "hash", "command",
    "builtin", "exec", "time", "!", "[", "[[", "]]", "]", "{", "}", "(", ")", "((", "))", ":",
    "coproc", "select", "ulimit", "umask", "pushd", "popd", "jobs", "disown", "getopts", "pwd",
    "kill", "sudo", "nohup", "env", "setsid",
];

/// The text of the scripts `source` (at `file`) reads with `.` or `source` from its own
/// directory (`. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"`), joined.
fn sourced_siblings(file: &Path, source: &str) -> String {
    let dir = file.parent().unwrap_or(Path::new("."));
    source
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with(". ") || l.starts_with("source "))
        .filter_map(|l| {
            let name = l.trim_end().trim_end_matches('"').rsplit('/').next()?;
            name.ends_with(".sh").then(|| dir.join(name))
        })
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Wrappers whose first argument is the program they run.
const WRAPPERS: &[&str] = &["exec", "time", "sudo", "nohup", "env", "setsid", "command"];

/// Programs started by name in a shell script: the first word of every simple command, after
/// variable assignments, redirections and wrappers (`env`, `exec`, `nohup`, `sudo`, `setsid`,
/// `time`), skipping functions the script defines, heredoc bodies, comments, quoted text (but
/// not `$(...)` inside double quotes), case labels, `command -v` checks and words that are not
/// plain names (paths, expansions, options).
pub fn started_in_shell(source: &str, path: &str) -> Vec<Started> {
    started_in_shell_sourcing(source, path, "")
}

/// [`started_in_shell`] for a script that sources `sourced` (the text of the files it reads
/// with `.` or `source`): the functions those define are not programs either.
pub fn started_in_shell_sourcing(source: &str, path: &str, sourced: &str) -> Vec<Started> {
    let functions: BTreeSet<&str> = source
        .lines()
        .chain(sourced.lines())
        .filter_map(|l| {
            let l = l.trim_start().trim_start_matches("function ");
            let (name, rest) = l.split_once("()")?;
            (rest.trim_start().starts_with('{') && is_name(name.trim())).then(|| name.trim())
        })
        .collect();
    let mut found = Vec::new();
    let mut in_case = 0_usize;
    for (n, (line, continues)) in code_only(source).into_iter().enumerate() {
        let mut line = line;
        let words: Vec<&str> = line.split_whitespace().collect();
        let ends_case = words.first() == Some(&"esac") || words.last() == Some(&"esac");
        if words.first() == Some(&"case") {
            in_case += 1;
        }
        if words.first() == Some(&"case") {
            line = line
                .split_once(" in ")
                .map_or(String::new(), |(_, b)| b.to_owned());
        }
        if in_case > 0 {
            // `pattern | other)` starts a branch: the pattern is no command.
            line = line
                .split(";;")
                .map(|branch| match branch.find(')') {
                    Some(i) if !branch[..i].contains(['(', '=', '[']) => &branch[i + 1..],
                    _ => branch,
                })
                .collect::<Vec<_>>()
                .join(";");
        }
        if ends_case {
            in_case = in_case.saturating_sub(1);
        }
        let line = without_spans(&line);
        for (i, segment) in segments(&line).into_iter().enumerate() {
            // The first segment of a line that continues the one before is arguments.
            if i == 0 && continues {
                continue;
            }
            if let Some(program) = command_word(&segment) {
                if functions.contains(program.as_str()) {
                    continue;
                }
                found.push(Started {
                    program,
                    at: format!("{path}:{}", n + 1),
                });
            }
        }
    }
    found
}

/// `line` without what holds no command: tests (`[[ ... ]]`), arithmetic (`((...))`,
/// `$((...))`) and array assignments (`name=(a b c)`).
fn without_spans(line: &str) -> String {
    let mut line = line.to_owned();
    for (open, close) in [("[[", "]]"), ("$((", "))"), ("((", "))"), ("=(", ")")] {
        while let Some(i) = line.find(open) {
            let Some(j) = line[i + open.len()..].find(close) else {
                line.truncate(i);
                break;
            };
            let end = i + open.len() + j + close.len();
            let keep = if open == "=(" { "=" } else { " " };
            line.replace_range(i..end, keep);
        }
    }
    line
}

/// A frame of [`code_only`]'s quoting state.
#[derive(Clone, Copy, PartialEq)]
enum Frame {
    /// Code, with its count of open `(`; a frame above the first ends at its unmatched `)`.
    Code(usize),
    Single,
    Double,
}

/// The script's lines with comments, heredoc bodies and quoted text blanked (`$(...)` inside
/// double quotes is kept), each with whether it continues the command of the line before (a
/// trailing backslash, or a quote still open).
fn code_only(source: &str) -> Vec<(String, bool)> {
    let mut stack = vec![Frame::Code(0)];
    let mut lines = Vec::new();
    let mut heredoc: Option<String> = None;
    let mut continues = false;
    for raw in source.lines() {
        if let Some(end) = &heredoc {
            if raw.trim() == end {
                heredoc = None;
            }
            lines.push((String::new(), false));
            continue;
        }
        let starts_continued = continues || stack.len() > 1;
        let mut out = String::new();
        let chars: Vec<char> = raw.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            match stack.last().copied().unwrap_or(Frame::Code(0)) {
                Frame::Single => {
                    if c == '\'' {
                        stack.pop();
                    }
                    out.push('_');
                }
                Frame::Double => match c {
                    '\\' => {
                        out.push_str("__");
                        i += 1;
                    }
                    '"' => {
                        stack.pop();
                        out.push('"');
                    }
                    '$' if chars.get(i + 1) == Some(&'(') => {
                        stack.push(Frame::Code(0));
                        out.push_str("$(");
                        i += 1;
                    }
                    _ => out.push('_'),
                },
                Frame::Code(depth) => match c {
                    '\\' => {
                        out.push(' ');
                        i += 1;
                    }
                    '\'' => {
                        stack.push(Frame::Single);
                        out.push('_');
                    }
                    '"' => {
                        stack.push(Frame::Double);
                        out.push('"');
                    }
                    '#' if out.is_empty() || out.ends_with([' ', '\t', ';']) => break,
                    '(' => {
                        if let Some(Frame::Code(d)) = stack.last_mut() {
                            *d += 1;
                        }
                        out.push('(');
                    }
                    ')' => {
                        if depth > 0 {
                            if let Some(Frame::Code(d)) = stack.last_mut() {
                                *d -= 1;
                            }
                        } else if stack.len() > 1 {
                            stack.pop();
                        }
                        out.push(')');
                    }
                    _ => out.push(c),
                },
            }
            i += 1;
        }
        if stack.len() == 1 && out.contains("<<") {
            heredoc = heredoc_terminator(raw);
        }
        continues = raw.trim_end().ends_with('\\');
        lines.push((out, starts_continued));
    }
    lines
}

/// The terminator of a heredoc that starts on `line` (`<<EOF`, `<<'EOF'`, `<<-"EOF"`).
fn heredoc_terminator(line: &str) -> Option<String> {
    let i = line.find("<<")?;
    let rest = &line[i + 2..];
    if rest.starts_with('<') {
        return None; // a here-string
    }
    let word: String = rest
        .trim_start_matches('-')
        .trim_start()
        .trim_start_matches(['\'', '"'])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!word.is_empty()).then_some(word)
}

/// The simple commands of a line: split at `|`, `&&`, `||`, `;`, `$(`, `` ` ``, `(`, `{` and
/// the keywords after which a command starts.
fn segments(line: &str) -> Vec<String> {
    let mut line = line.to_owned();
    for sep in ["$(", "&&", "||", "|", ";", "`", "(", ")", "{", "}"] {
        line = line.replace(sep, "\n");
    }
    line.lines()
        .map(|s| {
            let mut words: Vec<&str> = s.split_whitespace().collect();
            while let Some(first) = words.first() {
                if ["then", "do", "else", "if", "elif", "while", "until", "!"].contains(first) {
                    words.remove(0);
                } else {
                    break;
                }
            }
            words.join(" ")
        })
        .filter(|s| !s.is_empty())
        .collect()
}

/// The program a simple command starts, if it starts one by name.
fn command_word(segment: &str) -> Option<String> {
    let mut words = segment.split_whitespace().peekable();
    // Assignments before the command, and redirections.
    while let Some(w) = words.peek() {
        if is_assignment(w) || w.starts_with('<') || w.starts_with('>') || w.starts_with("2>") {
            words.next();
        } else {
            break;
        }
    }
    let mut first = words.next()?;
    // Wrappers run the program that follows their options and assignments.
    while WRAPPERS.contains(&first) {
        if first == "command" {
            // `command -v x` checks for a program; it does not start one.
            return None;
        }
        first = words.find(|w| !w.starts_with('-') && !is_assignment(w))?;
    }
    if SHELL_WORDS.contains(&first) || !is_name(first) {
        return None;
    }
    Some(first.to_owned())
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '[' || c == ']' || c == '+')
    })
}

/// A plain program name: letters, digits, `-`, `_`, `.`, starting with a letter.
fn is_name(word: &str) -> bool {
    word.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !word.ends_with('.')
}

/// Every program started by name under `root` in the files the project runs: Rust sources of
/// the tests, the crates' own tests and benches, the examples, Python helpers and tests, and
/// shell scripts.
pub fn scan_repository(root: &Path) -> anyhow::Result<Vec<Started>> {
    let mut files = Vec::new();
    for dir in [
        "tests",
        "crates/challenge/tests",
        "crates/challenge/benches",
        "crates/cli/tests",
        "examples",
        "scripts",
        "bench",
        ".ci",
    ] {
        collect_files(&root.join(dir), &mut files)?;
    }
    let mut found = Vec::new();
    for file in files {
        let shown = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .display()
            .to_string();
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Ok(source) = std::fs::read_to_string(&file) else {
            continue;
        };
        if name.ends_with(".rs") {
            found.extend(started_in_rust(&source, &shown));
        } else if name.ends_with(".py") {
            found.extend(started_in_python(&source, &shown));
        } else if name.ends_with(".sh")
            || name == "run"
            || source.starts_with("#!/usr/bin/env bash")
        {
            found.extend(started_in_shell_sourcing(
                &source,
                &shown,
                &sourced_siblings(&file, &source),
            ));
        }
    }
    // This file names programs in its own tests.
    found.retain(|s| !s.at.starts_with("tests/src/deps_scan.rs"));
    Ok(found)
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name != ".ci"
            || name == "node_modules"
            || name == "target"
            || name == "__pycache__"
            || name == "fixtures"
        {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            collect_files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// The programs in `started` that `manifest` does not list, one line each, or `Ok` when none.
pub fn check(started: &[Started], manifest: &BTreeSet<String>) -> Result<(), String> {
    let missing: BTreeSet<String> = started
        .iter()
        .filter(|s| !manifest.contains(&s.program))
        .map(|s| format!("{} (started at {})", s.program, s.at))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(format!(
        "these programs are started but scripts/deps.sh does not install or check them; add \
         each to its manifest (a `program` line saying where it comes from, or `base`):\n  {}",
        missing.into_iter().collect::<Vec<_>>().join("\n  ")
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn functions_of_a_sourced_script_are_not_programs() {
        let script = ". \"$(dirname \"${BASH_SOURCE[0]}\")/lib.sh\"\nwrite_config \"$work\"\n";
        let named: Vec<String> = started_in_shell(script, "a.sh")
            .into_iter()
            .map(|s| s.program)
            .collect();
        assert_eq!(named, ["dirname", "write_config"]);
        let lib = "write_config() {\n    printf x\n}\n";
        let named: Vec<String> = started_in_shell_sourcing(script, "a.sh", lib)
            .into_iter()
            .map(|s| s.program)
            .collect();
        assert_eq!(named, ["dirname"]);
    }

    use super::*;

    fn names(found: &[Started]) -> Vec<&str> {
        found.iter().map(|s| s.program.as_str()).collect()
    }

    #[test]
    fn every_program_the_project_starts_is_in_the_deps_manifest() {
        let root = crate::repo_root();
        let deps = std::fs::read_to_string(root.join("scripts/deps.sh")).expect("scripts/deps.sh");
        let listed = manifest(&deps);
        assert!(
            listed.contains("dig") && listed.contains("bash"),
            "{listed:?}"
        );
        let started = scan_repository(&root).expect("scanning the repository");
        // The scan sees what the suite is known to start.
        for known in ["curl", "dig", "lego", "certbot", "openssl", "bash"] {
            assert!(names(&started).contains(&known), "the scan missed {known}");
        }
        if let Err(message) = check(&started, &listed) {
            panic!("{message}");
        }
    }

    #[test]
    fn an_unlisted_program_fails_the_check_by_name() {
        let deps = "MANIFEST='\nprogram curl apt:curl=7.\nbase bash env\n'";
        let listed = manifest(deps);
        let mut started = started_in_rust(
            "let out = Command::new(\"curl\").arg(x);\nCommand::new(\"frobnicate\")",
            "t.rs",
        );
        started.extend(started_in_shell(
            "curl -s x | jq .\nenv X=1 frobnicate2 --flag\n",
            "t.sh",
        ));
        started.extend(started_in_python(
            "subprocess.run([\"frobnicate3\", \"x\"])",
            "t.py",
        ));
        let err = check(&started, &listed).expect_err("three programs are not listed");
        assert!(err.contains("frobnicate (started at t.rs:2)"), "{err}");
        assert!(err.contains("jq (started at t.sh:1)"), "{err}");
        assert!(err.contains("frobnicate2 (started at t.sh:2)"), "{err}");
        assert!(err.contains("frobnicate3 (started at t.py:1)"), "{err}");
        assert!(!err.contains("curl"), "{err}");
    }

    #[test]
    fn shell_scan_skips_syntax_functions_heredocs_and_paths() {
        let script = r#"#!/usr/bin/env bash
# curl in a comment
say() { printf '%s\n' "$*"; }
say hello
if ! command -v lego >/dev/null; then
    x=$(jq -r .a <<<"$json")
fi
cat >f <<'EOF'
pebble -config x
EOF
"$root/scripts/servers.sh" start
FOO=1 exec nohup pdns_server --config-dir=x &
echo 'dig in single quotes' && sqlite3 db <schema
for f in a b; do openssl version; done
curl -sS \
    --max-time 10 example
"#;
        let found = started_in_shell(script, "s.sh");
        assert_eq!(
            names(&found),
            ["jq", "cat", "pdns_server", "sqlite3", "openssl", "curl"],
            "{found:?}"
        );
    }

    #[test]
    fn manifest_reads_program_and_base_lines() {
        let listed = manifest(
            "program dig apt:dnsutils=1:9.\nprogram node apt:nodejs=20.\nbase bash kill\n# program nope\n",
        );
        assert_eq!(
            listed.into_iter().collect::<Vec<_>>(),
            ["bash", "dig", "kill", "node"]
        );
    }
}
