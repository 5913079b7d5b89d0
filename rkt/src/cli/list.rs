//! `rkt list [--full] [--no-legend] [--format=json|json-pretty]`: every pod, one line per app.

use std::process::ExitCode;

use argh::FromArgs;

use super::image::format;
use crate::config::Config;
use crate::error::Error;
use crate::pod::info::{unix_nanos, PodInfo};
use crate::pod::{Dir, Pod};

#[derive(FromArgs, Debug)]
/// list pods
#[argh(subcommand, name = "list")]
pub(crate) struct Args {
    /// suppress a legend with the list
    #[argh(switch)]
    no_legend: bool,
    /// use long output format
    #[argh(switch)]
    full: bool,
    /// the output format: json or json-pretty (default: a table)
    #[argh(option, default = "String::new()")]
    format: String,
}

pub(crate) fn run(args: Args, config: &Config) -> Result<ExitCode, Error> {
    let json = super::parse_format(&args.format)?;
    let mut infos = Vec::new();
    // rkt's `IncludeMostDirs`: every state but embryo.
    for pod in Pod::list(&config.data_dir).map_err(super::pod_err("list"))? {
        if pod.dir == Dir::Embryo {
            continue;
        }
        // A pod removed by a concurrent gc is simply not listed.
        if let Some(info) = pod.info().map_err(super::pod_err("list"))? {
            infos.push(info);
        }
    }
    if let Some(pretty) = json {
        let pods: Vec<_> = infos.iter().map(PodInfo::to_v1).collect();
        // Go marshals rkt's empty (nil) pod slice as `null`.
        if pods.is_empty() {
            return super::print_line("null").map(|()| ExitCode::SUCCESS);
        }
        super::print_json(&pods, pretty)?;
        return Ok(ExitCode::SUCCESS);
    }
    let now = unix_nanos(std::time::SystemTime::now());
    let table = format::tabulate(&rows(&infos, args.full, !args.no_legend, now));
    if !table.is_empty() {
        use std::io::Write;
        std::io::stdout()
            .lock()
            .write_all(table.as_bytes())
            .map_err(Error::Output)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// rkt 1.30 `runList`'s cells: the pod's columns on its first app's line only.
fn rows(pods: &[PodInfo], full: bool, legend: bool, now_ns: i64) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    if legend {
        let mut h = vec!["UUID", "APP", "IMAGE NAME"];
        if full {
            h.push("IMAGE ID");
        }
        h.extend(["STATE", "CREATED", "STARTED", "NETWORKS"]);
        rows.push(h.into_iter().map(String::from).collect());
    }
    let time = |t: Option<std::time::SystemTime>| match t {
        None => String::new(),
        Some(t) if full => format::go_time(unix_nanos(t)),
        Some(t) => format::relative_time(unix_nanos(t), now_ns),
    };
    for p in pods {
        let mut pod_cells = [
            if full {
                p.uuid.clone()
            } else {
                p.uuid.chars().take(8).collect()
            },
            p.state.to_string(),
            time(p.created),
            time(p.started),
            super::status::networks(p),
        ];
        let mut apps: Vec<[String; 3]> = p
            .apps
            .iter()
            .map(|a| {
                [
                    a.name.clone(),
                    a.image_name.clone().unwrap_or_else(|| "--".into()),
                    a.image_id.chars().take(19).collect(),
                ]
            })
            .collect();
        if apps.is_empty() {
            apps.push(["-".into(), "-".into(), "-".into()]);
        }
        for [app, image, id] in apps {
            // The pod's cells (NETWORKS included) on its first app's row only, as rkt.
            let [uuid, state, created, started, networks] = std::mem::take(&mut pod_cells);
            let mut row = vec![uuid, app, image];
            if full {
                row.push(id);
            }
            row.extend([state, created, started, networks]);
            rows.push(row);
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod::info::AppInfo;
    use crate::pod::State;
    use std::time::{Duration, UNIX_EPOCH};

    fn pod(uuid: &str, state: State, apps: &[&str], started: bool) -> PodInfo {
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        PodInfo {
            uuid: uuid.into(),
            state,
            created: Some(t),
            started: started.then_some(t + Duration::from_millis(1500)),
            pid: None,
            gc_marked: None,
            manifest: None,
            apps: apps
                .iter()
                .map(|a| AppInfo {
                    name: a.to_string(),
                    image_name: Some(format!("example.com/{a}")),
                    image_id: format!("sha512-{}", "b".repeat(64)),
                    exit_code: None,
                })
                .collect(),
            networks: Vec::new(),
        }
    }

    #[test]
    fn short_table_is_rkts_layout() {
        let now = 1_700_000_000_000_000_000 + 3 * 60 * 1_000_000_000;
        let pods = [
            pod(
                "5f0d1a2b-0000-4000-8000-000000000000",
                State::Running,
                &["web", "db"],
                true,
            ),
            pod(
                "6a7b8c9d-0000-4000-8000-000000000000",
                State::Prepared,
                &["x"],
                false,
            ),
        ];
        let out = format::tabulate(&rows(&pods, false, true, now));
        let want = "UUID\t\tAPP\tIMAGE NAME\tSTATE\t\tCREATED\t\tSTARTED\t\tNETWORKS\n\
                    5f0d1a2b\tweb\texample.com/web\trunning\t\t3 minutes ago\t2 minutes ago\t\n\
                    \t\tdb\texample.com/db\t\t\t\t\t\t\t\n\
                    6a7b8c9d\tx\texample.com/x\tprepared\t3 minutes ago\t\t\t\n";
        assert_eq!(out, want);
    }

    #[test]
    fn full_table_has_image_ids_and_absolute_times() {
        let pods = [pod(
            "5f0d1a2b-0000-4000-8000-000000000000",
            State::Exited,
            &[],
            true,
        )];
        let r = rows(&pods, true, false, 0);
        assert_eq!(
            r,
            vec![vec![
                "5f0d1a2b-0000-4000-8000-000000000000".to_string(),
                "-".into(),
                "-".into(),
                "-".into(),
                "exited".into(),
                "2023-11-14 22:13:20 +0000 UTC".into(),
                "2023-11-14 22:13:21.5 +0000 UTC".into(),
                String::new(),
            ]]
        );
        let pods = [pod(
            "5f0d1a2b-0000-4000-8000-000000000000",
            State::Exited,
            &["a"],
            true,
        )];
        assert_eq!(rows(&pods, true, false, 0)[0][3], "sha512-bbbbbbbbbbbb");
    }
}
