//! `rkt status [--wait[=DURATION]] [--wait-ready[=DURATION]] [--format=json|json-pretty]
//! (UUID | --uuid-file=FILE)`: a pod's state as `key=value` lines, or rkt's `v1.Pod` JSON.

use std::process::ExitCode;
use std::time::Duration;

use argh::FromArgs;

use super::image::format;
use crate::config::Config;
use crate::error::Error;
use crate::pod::info::{unix_nanos, PodInfo};
use crate::pod::{wait, State};

#[derive(FromArgs, Debug)]
/// check the status of a rkt pod
#[argh(subcommand, name = "status")]
pub(crate) struct Args {
    /// wait for the pod to finish: true (forever), false, or a duration such as 10s
    #[argh(option, default = "String::from(\"false\")")]
    wait: String,
    /// wait until every app has started: true (forever), false, or a duration
    #[argh(option, default = "String::from(\"false\")")]
    wait_ready: String,
    /// the output format: json or json-pretty (default: key=value lines)
    #[argh(option, default = "String::new()")]
    format: String,
    /// read the pod UUID from this file
    #[argh(option)]
    uuid_file: Option<String>,
    /// the pod's UUID (a unique prefix is enough)
    #[argh(positional)]
    uuid: Option<String>,
}

/// How long a `--wait` flag waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    No,
    Forever,
    For(Duration),
}

/// rkt's `flagDuration`: a boolean or a Go duration (`0` does not wait).
fn parse_wait(flag: &str, v: &str) -> Result<Wait, Error> {
    match v {
        "true" | "t" | "T" | "TRUE" | "True" | "1" => Ok(Wait::Forever),
        "false" | "f" | "F" | "FALSE" | "False" => Ok(Wait::No),
        _ => match format::parse_go_duration(v) {
            Ok(d) if d.is_zero() => Ok(Wait::No),
            Ok(d) => Ok(Wait::For(d)),
            Err(e) => Err(Error::Usage(format!(
                "invalid argument {v:?} for \"--{flag}\" flag: {e}"
            ))),
        },
    }
}

pub(crate) fn run(args: Args, config: &Config) -> Result<ExitCode, Error> {
    let json = super::parse_format(&args.format)?;
    let wait_done = parse_wait("wait", &args.wait)?;
    let wait_ready = parse_wait("wait-ready", &args.wait_ready)?;
    let mut pod = super::one_pod(
        "status",
        args.uuid.as_deref(),
        args.uuid_file.as_deref(),
        config,
    )?;
    for (w, ready) in [(wait_ready, true), (wait_done, false)] {
        let timeout = match w {
            Wait::No => continue,
            Wait::Forever => None,
            Wait::For(d) => Some(d),
        };
        let res = if ready {
            wait::wait_ready(&mut pod, timeout)
        } else {
            wait::wait_finished(&mut pod, timeout)
        };
        res.map_err(super::pod_err("status"))?;
    }
    let Some(info) = pod.info().map_err(super::pod_err("status"))? else {
        return Err(super::pod_err("status")(crate::pod::Error::NotFound(
            pod.uuid,
        )));
    };
    if let Some(pretty) = json {
        super::print_json(&info.to_v1(), pretty)?;
    } else {
        for line in lines(&info) {
            super::print_line(&line)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// rkt 1.30's `name:ip4=IP` per network, joined by ", " (empty without networks).
pub(super) fn networks(p: &PodInfo) -> String {
    p.networks
        .iter()
        .map(|n| format!("{}:ip4={}", n.net_name, n.ip))
        .collect::<Vec<_>>()
        .join(", ")
}

/// rkt 1.30 `printStatus`'s lines (the app codes sorted by name, where rkt's map order was
/// random).
fn lines(p: &PodInfo) -> Vec<String> {
    let mut out = vec![format!("state={}", p.state)];
    if let Some(t) = p.created {
        out.push(format!("created={}", format::go_time(unix_nanos(t))));
    }
    if let Some(t) = p.started {
        out.push(format!("started={}", format::go_time(unix_nanos(t))));
    }
    // rkt 1.30 printStatus: for a running pod only (empty with host or none networking).
    if p.state == State::Running {
        out.push(format!("networks={}", networks(p)));
    }
    if !matches!(
        p.state,
        State::Running
            | State::Deleting
            | State::ExitedDeleting
            | State::Exited
            | State::ExitedGarbage
    ) {
        return out;
    }
    if let Some(pid) = p.pid {
        out.push(format!("pid={pid}"));
    }
    out.push(format!("exited={}", p.state.is_after_run()));
    if p.state != State::Running {
        let mut codes: Vec<(&str, i32)> = p
            .apps
            .iter()
            .filter_map(|a| Some((a.name.as_str(), a.exit_code?)))
            .collect();
        codes.sort();
        out.extend(codes.iter().map(|(name, c)| format!("app-{name}={c}")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod::info::AppInfo;
    use std::time::UNIX_EPOCH;

    fn info(state: State) -> PodInfo {
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        PodInfo {
            uuid: "u".into(),
            state,
            created: Some(t),
            started: (state != State::Prepared).then_some(t + Duration::from_millis(250)),
            pid: (state != State::Prepared).then_some(4242),
            gc_marked: None,
            manifest: None,
            apps: ["web", "db"]
                .iter()
                .map(|a| AppInfo {
                    name: a.to_string(),
                    image_name: None,
                    image_id: String::new(),
                    exit_code: (state != State::Running).then_some(if *a == "db" { 0 } else { 7 }),
                })
                .collect(),
            networks: Vec::new(),
        }
    }

    #[test]
    fn status_lines_follow_the_state() {
        assert_eq!(
            lines(&info(State::Exited)),
            [
                "state=exited",
                "created=2023-11-14 22:13:20 +0000 UTC",
                "started=2023-11-14 22:13:20.25 +0000 UTC",
                "pid=4242",
                "exited=true",
                "app-db=0",
                "app-web=7",
            ]
        );
        assert_eq!(
            lines(&info(State::Running))[3..],
            ["networks=", "pid=4242", "exited=false"]
        );
        assert_eq!(
            lines(&info(State::Prepared)),
            ["state=prepared", "created=2023-11-14 22:13:20 +0000 UTC"]
        );
        let garbage = lines(&info(State::ExitedGarbage));
        assert!(!garbage.contains(&"networks=".to_string()));
        assert!(garbage.contains(&"exited=true".to_string()));
    }

    #[test]
    fn wait_flags_are_bools_or_durations() {
        assert_eq!(parse_wait("wait", "true").unwrap(), Wait::Forever);
        assert_eq!(parse_wait("wait", "false").unwrap(), Wait::No);
        assert_eq!(parse_wait("wait", "0s").unwrap(), Wait::No);
        assert_eq!(
            parse_wait("wait", "1m30s").unwrap(),
            Wait::For(Duration::from_secs(90))
        );
        let e = parse_wait("wait-ready", "soon").unwrap_err().to_string();
        assert!(e.contains("--wait-ready"), "{e}");
    }
}
