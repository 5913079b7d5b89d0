//! Named networks: the CNI confs of `<local-config>/net.d/*.conf`, run through their plugin
//! executables as rkt 1.30 did (the conf's bytes on stdin, `CNI_*` in the environment, ADD at
//! the start, DEL at `rm`/`gc`), reading results of CNI 0.1.0 to 1.0.0.
//!
//! Each attachment is recorded in the pod dir before its ADD, so that `rm`/`gc` send the DEL
//! also after a crash. A DEL that fails (a plugin gone missing) is reported once and
//! forgotten: everything rkt owns is freed anyway.
//!
//! # References
//!  - CNI specification 1.0 (`containernetworking/cni` SPEC.md): execution protocol, results,
//!    DEL without `CNI_NETNS`.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::NetInfo;
use crate::paths;
use crate::sys::fs::{write_atomic, Durability};

/// A conf file is small; a larger one is refused rather than read whole.
const MAX_CONF: u64 = 1 << 20;
/// A plugin's stdout (its result or error) beyond this is cut.
const MAX_RESULT: u64 = 1 << 20;

/// One loaded `net.d` conf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Conf {
    pub(crate) path: PathBuf,
    pub(crate) name: String,
    pub(crate) plugin: String,
    pub(crate) bytes: Vec<u8>,
}

#[derive(Debug)]
pub(crate) enum CniError {
    Load {
        path: PathBuf,
        reason: String,
    },
    MissingPlugin {
        plugin: String,
        searched: Vec<PathBuf>,
    },
    Exec {
        plugin: PathBuf,
        source: io::Error,
    },
    /// The plugin failed (its CNI error message, or what it printed).
    Plugin {
        net: String,
        message: String,
    },
    Result {
        net: String,
        reason: String,
    },
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
}

fn clip(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(200).collect()
}

impl fmt::Display for CniError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CniError::Load { path, reason } => {
                write!(f, "error loading `{}`: {reason}", path.display())
            }
            CniError::MissingPlugin { plugin, searched } => {
                let dirs: Vec<String> = searched.iter().map(|d| d.display().to_string()).collect();
                write!(
                    f,
                    "Could not find plugin {:?} (searched {})",
                    clip(plugin),
                    dirs.join(":")
                )
            }
            CniError::Exec { plugin, .. } => write!(f, "run CNI plugin `{}`", plugin.display()),
            CniError::Plugin { net, message } => {
                write!(f, "error adding network {net:?}: {}", clip(message))
            }
            CniError::Result { net, reason } => {
                write!(f, "error parsing network {net:?}'s result: {reason}")
            }
            CniError::Io { op, path, .. } => write!(f, "{op} `{}`", path.display()),
        }
    }
}

impl std::error::Error for CniError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CniError::Exec { source, .. } | CniError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

fn io_err(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> CniError {
    let path = path.to_path_buf();
    move |source| CniError::Io { op, path, source }
}

#[derive(serde::Deserialize)]
struct ConfHead {
    name: String,
    #[serde(rename = "type")]
    plugin: String,
}

/// The confs of `net_dir` (`*.conf`, regular files, sorted by file name); none when the
/// directory does not exist.
pub(crate) fn load(net_dir: &Path) -> Result<Vec<Conf>, CniError> {
    let entries = match std::fs::read_dir(net_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err("read", net_dir)(e)),
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "conf"))
        .collect();
    paths.sort();
    let mut confs = Vec::new();
    for path in paths {
        let load_err = |reason: String| CniError::Load {
            path: path.clone(),
            reason,
        };
        let mut bytes = Vec::new();
        std::fs::File::open(&path)
            .and_then(|f| f.take(MAX_CONF + 1).read_to_end(&mut bytes))
            .map_err(io_err("read", &path))?;
        if bytes.len() as u64 > MAX_CONF {
            return Err(load_err("larger than 1 MiB".into()));
        }
        let head: ConfHead =
            serde_json::from_slice(&bytes).map_err(|e| load_err(clip(&e.to_string())))?;
        if head.name.is_empty() || head.plugin.is_empty() || head.plugin.contains('/') {
            return Err(load_err(
                "needs a \"name\" and a \"type\" that is a plugin's file name".into(),
            ));
        }
        confs.push(Conf {
            path,
            name: head.name,
            plugin: head.plugin,
            bytes,
        });
    }
    Ok(confs)
}

/// `CNI_PATH`: `net.d` itself, then rkt's and the distributions' plugin directories.
pub(crate) fn plugin_dirs(net_dir: &Path) -> Vec<PathBuf> {
    let mut dirs = vec![net_dir.to_path_buf()];
    dirs.extend(paths::CNI_PLUGIN_DIRS.iter().map(PathBuf::from));
    dirs
}

fn find_plugin(plugin: &str, dirs: &[PathBuf]) -> Result<PathBuf, CniError> {
    dirs.iter()
        .map(|d| d.join(plugin))
        .find(|p| p.is_file())
        .ok_or_else(|| CniError::MissingPlugin {
            plugin: plugin.to_string(),
            searched: dirs.to_vec(),
        })
}

/// Refuses a conf whose plugin is not installed, before anything of the pod's network exists.
pub(crate) fn check_plugin(conf: &Conf, net_dir: &Path) -> Result<(), CniError> {
    find_plugin(&conf.plugin, &plugin_dirs(net_dir)).map(drop)
}

/// One attachment as the pod dir records it (enough for the DEL).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Record {
    pub(crate) name: String,
    /// The conf's copy, relative to the pod dir (`net/<file>`).
    pub(crate) conf: String,
    pub(crate) plugin: String,
    pub(crate) if_name: String,
    pub(crate) args: String,
    pub(crate) cni_path: String,
}

fn read_records(pod_dir: &Path) -> Result<Vec<Record>, CniError> {
    let path = paths::pod_net_cni(pod_dir);
    match std::fs::read_to_string(&path) {
        Ok(t) => Ok(t
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(io_err("read", &path)(e)),
    }
}

/// What one plugin call is given.
struct Call<'a> {
    command: &'static str,
    plugin: &'a Path,
    uuid: &'a str,
    netns: &'a str,
    if_name: &'a str,
    args: &'a str,
    cni_path: &'a str,
    conf: &'a [u8],
}

/// Runs a plugin; `Ok(stdout)` when it exits 0, else its CNI error message.
fn exec(call: &Call<'_>) -> Result<Result<Vec<u8>, String>, CniError> {
    let mut child = Command::new(call.plugin)
        .env("CNI_VERSION", "0.1.0")
        .env("CNI_COMMAND", call.command)
        .env("CNI_CONTAINERID", call.uuid)
        .env("CNI_NETNS", call.netns)
        .env("CNI_ARGS", call.args)
        .env("CNI_IFNAME", call.if_name)
        .env("CNI_PATH", call.cni_path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|source| CniError::Exec {
            plugin: call.plugin.to_path_buf(),
            source,
        })?;
    let exec_err = |source| CniError::Exec {
        plugin: call.plugin.to_path_buf(),
        source,
    };
    let mut stdin = child.stdin.take().expect("piped");
    // A plugin that does not read its stdin must not block rkt (EPIPE is its business).
    let conf = call.conf.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&conf);
    });
    let mut out = Vec::new();
    child
        .stdout
        .take()
        .expect("piped")
        .take(MAX_RESULT)
        .read_to_end(&mut out)
        .map_err(exec_err)?;
    let status = child.wait().map_err(exec_err)?;
    let _ = writer.join();
    if status.success() {
        return Ok(Ok(out));
    }
    #[derive(serde::Deserialize)]
    struct PluginError {
        msg: String,
        #[serde(default)]
        details: String,
    }
    Ok(Err(match serde_json::from_slice::<PluginError>(&out) {
        Ok(e) if e.details.is_empty() => e.msg,
        Ok(e) => format!("{}; {}", e.msg, e.details),
        Err(_) => format!(
            "netplugin failed but error parsing its diagnostic message {:?}",
            clip(&String::from_utf8_lossy(&out))
        ),
    }))
}

/// The first IPv4 address of a result: `(address, prefix, gateway)`. CNI 0.1.0/0.2.0 put it in
/// `ip4`, 0.3.0 to 1.0.0 in `ips`.
fn parse_result(bytes: &[u8]) -> Result<(Ipv4Addr, u8, Option<Ipv4Addr>), String> {
    #[derive(serde::Deserialize)]
    struct Ip {
        #[serde(alias = "ip")]
        address: String,
        gateway: Option<String>,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Result {
        cni_version: Option<String>,
        ip4: Option<Ip>,
        #[serde(default)]
        ips: Vec<Ip>,
    }
    let r: Result = serde_json::from_slice(bytes).map_err(|e| clip(&e.to_string()))?;
    if let Some(v) = &r.cni_version {
        if !["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"].contains(&v.as_str()) {
            return Err(format!("unsupported cniVersion {:?}", clip(v)));
        }
    }
    let ips = r.ip4.into_iter().chain(r.ips);
    for ip in ips {
        let Some((addr, prefix)) = ip.address.split_once('/') else {
            continue;
        };
        let (Ok(addr), Ok(prefix)) = (addr.parse::<Ipv4Addr>(), prefix.parse::<u8>()) else {
            continue;
        };
        if prefix > 32 {
            continue;
        }
        let gateway = ip.gateway.and_then(|g| g.parse().ok());
        return Ok((addr, prefix, gateway));
    }
    Err("no IPv4 address in it".into())
}

/// ADD of the pod (its namespace pinned at `netns`) to `conf` as interface `eth<index>`.
pub(crate) fn add(
    pod_dir: &Path,
    uuid: &str,
    conf: &Conf,
    index: usize,
    args: &str,
    netns: &Path,
    net_dir: &Path,
) -> Result<NetInfo, CniError> {
    let dirs = plugin_dirs(net_dir);
    let plugin = find_plugin(&conf.plugin, &dirs)?;
    let file = conf
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let copy = pod_dir.join("net").join(&file);
    if let Some(d) = copy.parent() {
        std::fs::create_dir_all(d).map_err(io_err("create", d))?;
    }
    write_atomic(&copy, &conf.bytes, Durability::NoFsync).map_err(io_err("write", &copy))?;
    let cni_path: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    let record = Record {
        name: conf.name.clone(),
        conf: format!("net/{file}"),
        plugin: plugin.display().to_string(),
        if_name: super::plan::pod_if_name(index),
        args: args.to_string(),
        cni_path: cni_path.join(":"),
    };
    let mut records = read_records(pod_dir)?;
    records.push(record.clone());
    let text: String = records
        .iter()
        .map(|r| serde_json::to_string(r).expect("plain strings") + "\n")
        .collect();
    let rpath = paths::pod_net_cni(pod_dir);
    write_atomic(&rpath, text.as_bytes(), Durability::NoFsync).map_err(io_err("write", &rpath))?;
    let out = exec(&Call {
        command: "ADD",
        plugin: &plugin,
        uuid,
        netns: &netns.to_string_lossy(),
        if_name: &record.if_name,
        args,
        cni_path: &record.cni_path,
        conf: &conf.bytes,
    })?
    .map_err(|message| CniError::Plugin {
        net: conf.name.clone(),
        message,
    })?;
    let (ip, prefix, gateway) = parse_result(&out).map_err(|reason| CniError::Result {
        net: conf.name.clone(),
        reason,
    })?;
    let gateway = gateway.map(|g| g.to_string()).unwrap_or_default();
    Ok(NetInfo {
        net_name: conf.name.clone(),
        net_conf: record.conf,
        plugin_path: record.plugin,
        if_name: record.if_name,
        ip: ip.to_string(),
        args: args.to_string(),
        mask: super::plan::mask(prefix).to_string(),
        host_ip: gateway.clone(),
        gateway,
    })
}

/// DEL of every attachment the pod dir records, last first, with `netns` if the namespace is
/// still pinned (else empty, which the CNI spec allows for DEL). Returns what could not be
/// deleted, each said once: the record is gone afterwards either way.
pub(crate) fn release(
    pod_dir: &Path,
    uuid: &str,
    netns: Option<&Path>,
) -> Result<Vec<String>, CniError> {
    let records = read_records(pod_dir)?;
    let netns = netns
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut failed = Vec::new();
    for r in records.iter().rev() {
        let conf_path = pod_dir.join(&r.conf);
        let conf = match std::fs::read(&conf_path) {
            Ok(c) => c,
            Err(e) => {
                failed.push(format!(
                    "network {:?}: read `{}`: {e}",
                    r.name,
                    conf_path.display()
                ));
                continue;
            }
        };
        let call = Call {
            command: "DEL",
            plugin: Path::new(&r.plugin),
            uuid,
            netns: &netns,
            if_name: &r.if_name,
            args: &r.args,
            cni_path: &r.cni_path,
            conf: &conf,
        };
        match exec(&call) {
            Ok(Ok(_)) => {}
            Ok(Err(message)) => {
                failed.push(format!("network {:?}: DEL: {}", r.name, clip(&message)))
            }
            Err(e) => failed.push(format!("network {:?}: DEL: {e}", r.name)),
        }
    }
    let rpath = paths::pod_net_cni(pod_dir);
    match std::fs::remove_file(&rpath) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(io_err("remove", &rpath)(e)),
        _ => {}
    }
    Ok(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_of_every_version_give_the_first_ipv4_address() {
        let old =
            br#"{"cniVersion":"0.2.0","ip4":{"ip":"10.1.0.5/16","gateway":"10.1.0.1"},"dns":{}}"#;
        assert_eq!(
            parse_result(old).unwrap(),
            (
                Ipv4Addr::new(10, 1, 0, 5),
                16,
                Some(Ipv4Addr::new(10, 1, 0, 1))
            )
        );
        let new = br#"{"cniVersion":"1.0.0","interfaces":[{"name":"eth0"}],
            "ips":[{"address":"fd00::5/64"},{"address":"10.2.0.9/24","interface":0}]}"#;
        assert_eq!(
            parse_result(new).unwrap(),
            (Ipv4Addr::new(10, 2, 0, 9), 24, None)
        );
        assert!(parse_result(br#"{"cniVersion":"9.9.9","ips":[]}"#).is_err());
        assert!(parse_result(br#"{"cniVersion":"1.0.0","ips":[]}"#).is_err());
        assert!(parse_result(b"not json").is_err());
    }

    #[test]
    fn confs_load_sorted_and_bad_ones_are_named() {
        let d = std::env::temp_dir().join(format!("rkt-cni-load-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("20-b.conf"), r#"{"name":"b","type":"bridge"}"#).unwrap();
        std::fs::write(d.join("10-a.conf"), r#"{"name":"a","type":"ptp"}"#).unwrap();
        std::fs::write(d.join("ignored.conflist"), "{").unwrap();
        let confs = load(&d).unwrap();
        let names: Vec<&str> = confs.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        std::fs::write(
            d.join("30-bad.conf"),
            r#"{"name":"c","type":"../../bin/sh"}"#,
        )
        .unwrap();
        let e = load(&d).unwrap_err().to_string();
        assert!(e.contains("30-bad.conf"), "{e}");
        assert!(load(&d.join("missing")).unwrap().is_empty());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_missing_plugin_names_itself_and_the_path_searched() {
        let e = find_plugin("nosuch", &plugin_dirs(Path::new("/etc/rkt/net.d"))).unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"Could not find plugin "nosuch" (searched /etc/rkt/net.d:/usr/lib/rkt/plugins/net:/usr/lib/cni:/opt/cni/bin)"#
        );
    }
}
