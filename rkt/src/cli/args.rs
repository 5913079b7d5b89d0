//! The normalizing pass in front of argh: rkt's pflag syntax in, argh's syntax out.
//!
//! rkt (cobra/pflag) accepted `--flag=value` and `--flag value`, `--bool` and `--bool=false`,
//! optional values (`--wait`, `--wait=10s`), persistent (global) flags before or after the
//! subcommand, and unambiguous command prefixes. argh accepts none of that, so this pass rewrites
//! the command line using the flag tables below, and rejects unknown flags naming them. Nothing
//! after `--`, and nothing after the positional that starts a command's verbatim tail (`enter`'s
//! UUID), is ever parsed or moved.

use super::pod_flags::{self, Cmd, Scope};
use crate::error::Error;

/// How a flag takes its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A boolean that defaults to false: `--x`, `--x=true`, `--x=false` (argh switch).
    Switch,
    /// A boolean that may default to true: `--x` means `--x true` (argh `bool` option).
    Bool,
    /// Takes a value: `--x=v` or `--x v`.
    Value,
    /// Takes a value only with `=`; bare `--x` means the given value (`--wait`).
    Optional(&'static str),
}

/// The flags of one command, and where its verbatim tail starts.
#[derive(Debug)]
pub(crate) struct CommandSpec {
    pub(crate) path: &'static [&'static str],
    pub(crate) flags: &'static [(&'static str, Kind)],
    /// After this many positionals, every remaining argument is passed through untouched.
    pub(crate) verbatim_after: Option<usize>,
    /// Accepted by rkt 1.30 but not yet implemented here: fails with a clear error.
    pub(crate) implemented: bool,
    /// Flags of rkt 1.30 this command does not implement yet: each fails naming itself.
    pub(crate) pending: &'static [&'static str],
    /// `run`, `prepare` and `run-prepared` take their flags from [`pod_flags::FLAGS`]
    /// instead of `flags` and `pending`.
    pub(crate) pod: Option<Cmd>,
}

impl CommandSpec {
    /// The command's flag `name`, as (its name, how it takes a value).
    fn flag(&self, name: &str) -> Option<(&'static str, Kind)> {
        match self.pod {
            Some(cmd) => pod_flags::implemented(cmd, name).map(|f| (f.name, f.kind)),
            None => lookup(self.flags, name).copied(),
        }
    }

    fn is_pending(&self, name: &str) -> bool {
        match self.pod {
            Some(cmd) => pod_flags::is_pending(cmd, name),
            None => self.pending.contains(&name),
        }
    }

    /// A flag met among the images that is the pod's alone, so it goes in front of them; the
    /// others stay where they are for the image-list grammar.
    fn hoisted_from_list(&self, name: &str) -> Option<(&'static str, Kind)> {
        let cmd = self.pod?;
        pod_flags::implemented(cmd, name)
            .filter(|f| f.scope == Scope::Pod)
            .map(|f| (f.name, f.kind))
    }

    fn takes_image_list(&self) -> bool {
        matches!(self.pod, Some(Cmd::Run | Cmd::Prepare))
    }
}

/// Global flags, accepted anywhere before `--` and moved in front of the subcommand.
pub(crate) const GLOBAL_FLAGS: &[(&str, Kind)] = &[
    ("dir", Kind::Value),
    ("local-config", Kind::Value),
    ("system-config", Kind::Value),
    ("user-config", Kind::Value),
    ("debug", Kind::Switch),
    ("insecure-options", Kind::Value),
    ("trust-keys-from-https", Kind::Switch),
];

/// The result of normalizing: which command, and argh-ready arguments for it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Normalized {
    pub(crate) command: &'static [&'static str],
    /// Global flags in argh form, then the command path, then the command's arguments.
    pub(crate) args: Vec<String>,
    pub(crate) help: bool,
}

fn lookup<'a>(flags: &'a [(&'static str, Kind)], name: &str) -> Option<&'a (&'static str, Kind)> {
    flags.iter().find(|(n, _)| *n == name)
}

/// Resolves a command word at one level: exact name, else a unique prefix.
fn resolve_word<'s>(
    specs: &'s [CommandSpec],
    depth: usize,
    parent: &[&str],
    word: &str,
) -> Result<&'s [&'static str], Error> {
    let candidates: Vec<&'static [&'static str]> = specs
        .iter()
        .map(|s| s.path)
        .filter(|p| p.len() > depth && p[..depth] == *parent)
        .collect();
    let mut names: Vec<&'static str> = candidates.iter().map(|p| p[depth]).collect();
    names.sort_unstable();
    names.dedup();
    if names.contains(&word) {
        return Ok(candidates
            .into_iter()
            .find(|p| p[depth] == word)
            .map(|p| &p[..=depth])
            .unwrap_or_default());
    }
    let matches: Vec<&&'static str> = names.iter().filter(|n| n.starts_with(word)).collect();
    match (matches.as_slice(), word.is_empty()) {
        ([one], false) => {
            let one = **one;
            Ok(candidates
                .into_iter()
                .find(|p| p[depth] == one)
                .map(|p| &p[..=depth])
                .unwrap_or_default())
        }
        _ => {
            let mut full = parent.join(" ");
            if !full.is_empty() {
                full.push(' ');
            }
            full.push_str(word);
            Err(Error::UnknownCommand(full))
        }
    }
}

fn bool_value(flag: &str, value: &str) -> Result<bool, Error> {
    match value {
        "true" | "1" | "t" | "T" | "TRUE" | "True" => Ok(true),
        "false" | "0" | "f" | "F" | "FALSE" | "False" => Ok(false),
        _ => Err(Error::Usage(format!(
            "invalid argument {value:?} for \"--{flag}\" flag: expected true or false"
        ))),
    }
}

/// Appends one flag in argh form; `next` supplies the value of `--x v`.
fn push_flag(
    out: &mut Vec<String>,
    name: &str,
    kind: Kind,
    inline: Option<&str>,
    next: &mut dyn FnMut() -> Option<String>,
) -> Result<(), Error> {
    match kind {
        Kind::Switch => {
            let on = match inline {
                Some(v) => bool_value(name, v)?,
                None => true,
            };
            if on {
                out.push(format!("--{name}"));
            }
        }
        Kind::Bool => {
            let on = match inline {
                Some(v) => bool_value(name, v)?,
                None => true,
            };
            out.push(format!("--{name}"));
            out.push(on.to_string());
        }
        Kind::Value => {
            let value = match inline {
                Some(v) => v.to_string(),
                None => next()
                    .ok_or_else(|| Error::Usage(format!("flag needs an argument: --{name}")))?,
            };
            out.push(format!("--{name}"));
            out.push(value);
        }
        Kind::Optional(bare) => {
            out.push(format!("--{name}"));
            out.push(inline.unwrap_or(bare).to_string());
        }
    }
    Ok(())
}

/// A global flag given again replaces the earlier value, as pflag did (`--insecure-options`
/// twice keeps the last; a repeated option inside one value is still an error).
fn push_global(
    globals: &mut Vec<String>,
    name: &str,
    kind: Kind,
    inline: Option<&str>,
    next: &mut dyn FnMut() -> Option<String>,
) -> Result<(), Error> {
    let flag = format!("--{name}");
    if let Some(at) = globals.iter().position(|g| *g == flag) {
        let width = if matches!(kind, Kind::Switch) { 1 } else { 2 };
        globals.drain(at..(at + width).min(globals.len()));
    }
    push_flag(globals, name, kind, inline, next)
}

/// Rewrites rkt's command line (without the program name) for argh.
pub(crate) fn normalize(
    specs: &'static [CommandSpec],
    argv: &[String],
) -> Result<Normalized, Error> {
    let mut globals = Vec::new();
    let mut leading: Vec<(String, Option<String>)> = Vec::new();
    let mut help = false;
    let mut iter = argv.iter().cloned().peekable();

    // Leading global flags and the command words.
    let mut path: &'static [&'static str] = &[];
    let mut help_words: Option<Vec<String>> = None;
    while let Some(arg) = iter.next() {
        if arg == "--help" || arg == "-h" {
            help = true;
            continue;
        }
        if let Some(flag) = arg.strip_prefix("--") {
            let (name, inline) = split_inline(flag);
            match lookup(GLOBAL_FLAGS, name) {
                Some(&(name, kind)) => {
                    push_global(&mut globals, name, kind, inline, &mut || iter.next())?
                }
                // cobra took a command's own flag before its name too (`rkt --no-store
                // fetch`, `rkt --pretty-print=false config`): kept for the command.
                None => leading.push((name.to_string(), inline.map(str::to_string))),
            }
            continue;
        }
        if arg.starts_with('-') && arg.len() > 1 {
            return Err(Error::Usage(format!("unknown shorthand flag: {arg}")));
        }
        if path.is_empty() && arg == "help" {
            help = true;
            help_words = Some(Vec::new());
            continue;
        }
        if let Some(words) = help_words.as_mut() {
            words.push(arg);
            continue;
        }
        path = resolve_word(specs, 0, &[], &arg)?;
        // Descend while the command has subcommands (`image list`).
        while has_subcommands(specs, path) {
            match iter.peek() {
                Some(word) if !word.starts_with('-') => {
                    let word = iter.next().unwrap_or_default();
                    path = resolve_word(specs, path.len(), path, &word)?;
                }
                _ => break,
            }
        }
        break;
    }
    if let Some(words) = help_words {
        for word in words {
            if !path.is_empty() && !has_subcommands(specs, path) {
                break;
            }
            path = resolve_word(specs, path.len(), path, &word)?;
        }
    }

    let spec = specs.iter().find(|s| s.path == path);
    let mut rest = Vec::new();
    if let Some(spec) = spec.filter(|s| !s.implemented) {
        return Err(Error::NotImplemented(format!(
            "rkt {}",
            spec.path.join(" ")
        )));
    }
    for (name, inline) in &leading {
        let known = spec.and_then(|s| s.flag(name));
        match (known, spec) {
            (Some((name, kind)), _) => {
                push_flag(&mut rest, name, kind, inline.as_deref(), &mut || None)?
            }
            (None, Some(s)) if s.is_pending(name) => {
                return Err(Error::NotImplemented(format!(
                    "rkt {} --{name}",
                    s.path.join(" ")
                )))
            }
            _ => return Err(Error::Usage(format!("unknown flag: --{name}"))),
        }
    }
    if let Some(spec) = spec {
        let mut positionals = 0;
        let mut verbatim = false;
        // Where the first image went: pod flags found among the images go before it.
        let mut first_image_at = 0;
        let mut hoisted = Vec::new();
        let mut in_app_args = false;
        while let Some(arg) = iter.next() {
            if verbatim && !spec.takes_image_list() {
                rest.push(arg);
                continue;
            }
            if verbatim {
                // rkt's parseApps parses the image list with the command's whole flag set: a
                // pod flag is accepted between images (per-app flags bind to the image before
                // them; an app's arguments, `-- ... ---`, are never looked at).
                if in_app_args {
                    in_app_args = arg != "---";
                } else if arg == "--" {
                    in_app_args = true;
                } else if let Some(flag) = arg.strip_prefix("--") {
                    let (name, inline) = split_inline(flag);
                    if let Some(&(name, kind)) = lookup(GLOBAL_FLAGS, name) {
                        push_global(&mut globals, name, kind, inline, &mut || iter.next())?;
                        continue;
                    }
                    if let Some((name, kind)) = spec.hoisted_from_list(name) {
                        push_flag(&mut hoisted, name, kind, inline, &mut || iter.next())?;
                        continue;
                    }
                }
                rest.push(arg);
                continue;
            }
            if arg == "--" {
                rest.push(arg);
                rest.extend(iter.by_ref());
                break;
            }
            if arg == "--help" || arg == "-h" {
                help = true;
                continue;
            }
            if let Some(flag) = arg.strip_prefix("--") {
                let (name, inline) = split_inline(flag);
                if let Some(&(name, kind)) = lookup(GLOBAL_FLAGS, name) {
                    push_global(&mut globals, name, kind, inline, &mut || iter.next())?;
                } else if let Some((name, kind)) = spec.flag(name) {
                    push_flag(&mut rest, name, kind, inline, &mut || iter.next())?;
                } else if spec.is_pending(name) {
                    return Err(Error::NotImplemented(format!(
                        "rkt {} --{name}",
                        spec.path.join(" ")
                    )));
                } else {
                    return Err(Error::Usage(format!("unknown flag: --{name}")));
                }
                continue;
            }
            if arg.starts_with('-') && arg.len() > 1 {
                return Err(Error::Usage(format!("unknown shorthand flag: {arg}")));
            }
            if positionals == 0 {
                first_image_at = rest.len();
            }
            rest.push(arg);
            positionals += 1;
            if spec.verbatim_after == Some(positionals) && iter.peek().is_some() {
                verbatim = true;
                rest.push("--".to_string());
            }
        }
        rest.splice(first_image_at..first_image_at, hoisted);
    } else if !path.is_empty() {
        // A command group without a subcommand (`rkt image`): show its help.
        help = true;
    }
    if path.is_empty() {
        help = true;
    }

    let mut args = globals;
    args.extend(path.iter().map(|s| s.to_string()));
    if help {
        // Help needs only the command; its arguments, half typed, are left out.
        args.push("--help".to_string());
    } else {
        args.extend(rest);
    }
    Ok(Normalized {
        command: path,
        args,
        help,
    })
}

/// Whether `path` names a command group (`image`) rather than a command.
fn has_subcommands(specs: &[CommandSpec], path: &[&str]) -> bool {
    specs
        .iter()
        .any(|s| s.path.len() > path.len() && s.path[..path.len()] == *path)
}

fn split_inline(flag: &str) -> (&str, Option<&str>) {
    match flag.split_once('=') {
        Some((name, value)) => (name, Some(value)),
        None => (flag, None),
    }
}

#[cfg(test)]
#[path = "args_tests.rs"]
mod tests;
