//! Decoding the plan's records: strict framing (`read_record`) and a field accumulator
//! (`Decoder`) that rejects unknown, misplaced, repeated and missing keys.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use super::{
    cap_from_name, invalid, parse_u32, App, CgroupMount, EtcFile, Mount, Net, Output, Plan,
    PlanError, RootfsMode, MAX_VALUE,
};

/// Reads the record at `pos`: returns (key, value, offset of the next record).
pub(super) fn read_record(bytes: &[u8], pos: usize) -> Result<(&str, &[u8], usize), PlanError> {
    let bad = |msg: &str| PlanError {
        offset: Some(pos),
        msg: msg.to_string(),
    };
    let line_end = bytes[pos..]
        .iter()
        .take(48)
        .position(|&b| b == b'\n')
        .ok_or_else(|| bad("record header without newline"))?;
    let line = std::str::from_utf8(&bytes[pos..pos + line_end])
        .map_err(|_| bad("record header is not UTF-8"))?;
    let (key, len) = line
        .split_once(' ')
        .ok_or_else(|| bad("record header is not `key length`"))?;
    if key.is_empty() || !key.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') {
        return Err(bad("bad key"));
    }
    let len = parse_u32(len)
        .map(|n| n as usize)
        .filter(|&n| n <= MAX_VALUE)
        .ok_or_else(|| bad("bad value length"))?;
    let start = pos + line_end + 1;
    let end = start
        .checked_add(len)
        .filter(|&e| e < bytes.len())
        .ok_or_else(|| bad("value runs past the end"))?;
    if bytes[end] != b'\n' {
        return Err(bad("value not followed by a newline"));
    }
    Ok((key, &bytes[start..end], end + 1))
}

/// Accumulates records; `None` fields are still unset.
#[derive(Default)]
pub(super) struct Decoder {
    uuid: Option<String>,
    hostname: Option<String>,
    pod_dir: Option<PathBuf>,
    net: Option<Net>,
    hosts: Option<EtcFile>,
    resolv: Option<EtcFile>,
    cgroup_mounts: Vec<CgroupMount>,
    stage1_cgroup_procs: Vec<PathBuf>,
    devices: Option<bool>,
    output: Option<Output>,
    apps: Vec<AppDecoder>,
}

#[derive(Default)]
struct AppDecoder {
    name: String,
    lower: Option<PathBuf>,
    overlay: Option<bool>,
    upper: Option<PathBuf>,
    work: Option<PathBuf>,
    argv: Vec<String>,
    env: Vec<(String, String)>,
    uid: Option<u32>,
    gid: Option<u32>,
    supp: Vec<u32>,
    cwd: Option<String>,
    caps: Vec<u8>,
    readonly: Option<bool>,
    protect_kernel: Option<bool>,
    no_new_privs: Option<bool>,
    seccomp: Vec<Vec<u8>>,
    cgroup_procs: Vec<PathBuf>,
    cgroup_dir: Option<PathBuf>,
    oom_score_adj: Option<i32>,
    interactive: Option<bool>,
    mounts: Vec<Mount>,
    pre_start: Vec<String>,
    post_stop: Vec<String>,
}

fn set<T>(slot: &mut Option<T>, v: T) -> Result<(), String> {
    if slot.is_some() {
        return Err("given twice".into());
    }
    *slot = Some(v);
    Ok(())
}

fn text(v: &[u8]) -> Result<String, String> {
    String::from_utf8(v.to_vec()).map_err(|_| "not UTF-8".to_string())
}

fn path(v: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(v))
}

fn number(v: &[u8]) -> Result<u32, String> {
    std::str::from_utf8(v)
        .ok()
        .and_then(parse_u32)
        .ok_or_else(|| "not a decimal u32".to_string())
}

fn boolean(v: &[u8]) -> Result<bool, String> {
    match v {
        b"true" => Ok(true),
        b"false" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

fn etc_file(v: &[u8]) -> Result<EtcFile, String> {
    if v == b"keep" {
        Ok(EtcFile::Keep)
    } else if let Some(p) = v.strip_prefix(b"bind:") {
        Ok(EtcFile::Bind(path(p)))
    } else if let Some(s) = v.strip_prefix(b"default:") {
        Ok(EtcFile::Default(text(s)?))
    } else if let Some(s) = v.strip_prefix(b"write:") {
        Ok(EtcFile::Write(text(s)?))
    } else {
        Err("expected keep, bind:PATH, default:TEXT or write:TEXT".into())
    }
}

impl Decoder {
    pub(super) fn field(&mut self, key: &str, v: &[u8]) -> Result<(), String> {
        if key == "app" {
            self.apps.push(AppDecoder {
                name: text(v)?,
                ..AppDecoder::default()
            });
            return Ok(());
        }
        let Some(app) = self.apps.last_mut() else {
            return match key {
                "uuid" => set(&mut self.uuid, text(v)?),
                "hostname" => set(&mut self.hostname, text(v)?),
                "pod-dir" => set(&mut self.pod_dir, path(v)),
                "net" => match v {
                    b"host" => set(&mut self.net, Net::Host),
                    b"none" => set(&mut self.net, Net::None),
                    _ => Err("expected host or none".into()),
                },
                "hosts" => set(&mut self.hosts, etc_file(v)?),
                "resolv" => set(&mut self.resolv, etc_file(v)?),
                "cgroup-mount" => {
                    let mut parts = v.split(|&b| b == 0);
                    let (Some(fstype), Some(rel), Some(data), None) =
                        (parts.next(), parts.next(), parts.next(), parts.next())
                    else {
                        return Err("expected FSTYPE NUL REL NUL DATA".into());
                    };
                    self.cgroup_mounts.push(CgroupMount {
                        fstype: text(fstype)?,
                        rel: text(rel)?,
                        data: text(data)?,
                    });
                    Ok(())
                }
                "init-cgroup-procs" => {
                    self.stage1_cgroup_procs.push(path(v));
                    Ok(())
                }
                "output" => {
                    let tty = |s: &[u8]| match s {
                        b"tty" => Ok(true),
                        b"pipe" => Ok(false),
                        _ => Err("expected tty|pipe,tty|pipe".to_string()),
                    };
                    let mut parts = v.split(|&b| b == b',');
                    let (Some(o), Some(e), None) = (parts.next(), parts.next(), parts.next())
                    else {
                        return Err("expected tty|pipe,tty|pipe".into());
                    };
                    let out = Output {
                        stdout_tty: tty(o)?,
                        stderr_tty: tty(e)?,
                    };
                    set(&mut self.output, out)
                }
                "devices" => match v {
                    b"cgroup" => set(&mut self.devices, true),
                    b"nodev" => set(&mut self.devices, false),
                    _ => Err("expected cgroup or nodev".into()),
                },
                _ => Err("unknown pod key".into()),
            };
        };
        match key {
            "lower" => set(&mut app.lower, path(v)),
            "rootfs" => match v {
                b"overlay" => set(&mut app.overlay, true),
                b"copy" => set(&mut app.overlay, false),
                _ => Err("expected overlay or copy".into()),
            },
            "upper" => set(&mut app.upper, path(v)),
            "work" => set(&mut app.work, path(v)),
            "argv" => {
                app.argv.push(text(v)?);
                Ok(())
            }
            "env" => {
                let s = text(v)?;
                let (k, val) = s.split_once('=').ok_or("expected NAME=VALUE")?;
                app.env.push((k.to_string(), val.to_string()));
                Ok(())
            }
            "uid" => set(&mut app.uid, number(v)?),
            "gid" => set(&mut app.gid, number(v)?),
            "supp-gid" => {
                app.supp.push(number(v)?);
                Ok(())
            }
            "cwd" => set(&mut app.cwd, text(v)?),
            "cap" => {
                let name = text(v)?;
                app.caps
                    .push(cap_from_name(&name).ok_or("unknown capability name")?);
                Ok(())
            }
            "mount" => {
                let mut parts = v.split(|&b| b == 0);
                let (Some(flags), Some(source), Some(target), None) =
                    (parts.next(), parts.next(), parts.next(), parts.next())
                else {
                    return Err("expected FLAGS NUL SOURCE NUL TARGET".into());
                };
                let (flags, fill) = match flags.strip_suffix(b",fill") {
                    Some(f) => (f, true),
                    None => (flags, false),
                };
                let (readonly, recursive) = match flags {
                    b"ro,rbind" => (true, true),
                    b"ro,bind" => (true, false),
                    b"rw,rbind" => (false, true),
                    b"rw,bind" => (false, false),
                    _ => return Err("flags must be ro|rw,rbind|bind[,fill]".into()),
                };
                app.mounts.push(Mount {
                    source: path(source),
                    target: text(target)?,
                    readonly,
                    recursive,
                    fill,
                });
                Ok(())
            }
            "readonly" => set(&mut app.readonly, boolean(v)?),
            "pre-start" => {
                app.pre_start.push(text(v)?);
                Ok(())
            }
            "post-stop" => {
                app.post_stop.push(text(v)?);
                Ok(())
            }
            "protect-kernel" => set(&mut app.protect_kernel, boolean(v)?),
            "no-new-privs" => set(&mut app.no_new_privs, boolean(v)?),
            "seccomp" => {
                app.seccomp.push(v.to_vec());
                Ok(())
            }
            "cgroup-procs" => {
                app.cgroup_procs.push(path(v));
                Ok(())
            }
            "cgroup-dir" => set(&mut app.cgroup_dir, path(v)),
            "oom-score-adj" => {
                let s = text(v)?;
                let n: i32 = s.parse().map_err(|_| "not a decimal integer".to_string())?;
                set(&mut app.oom_score_adj, n)
            }
            "interactive" => set(&mut app.interactive, boolean(v)?),
            _ => Err("unknown app key (or pod key after the first app)".into()),
        }
    }

    pub(super) fn finish(self) -> Result<Plan, PlanError> {
        let need = |what: &str| invalid(format!("missing {what}"));
        let mut apps = Vec::with_capacity(self.apps.len());
        for a in self.apps {
            let ctx = |what: &str| invalid(format!("app {:?}: missing {what}", a.name));
            let mode = match a.overlay {
                Some(true) => RootfsMode::Overlay {
                    upper: a.upper.ok_or_else(|| ctx("upper"))?,
                    work: a.work.ok_or_else(|| ctx("work"))?,
                },
                Some(false) if a.upper.is_some() || a.work.is_some() => {
                    return Err(invalid(format!(
                        "app {:?}: upper/work given for a copy rootfs",
                        a.name
                    )))
                }
                Some(false) => RootfsMode::Copy,
                None => return Err(ctx("rootfs")),
            };
            apps.push(App {
                lower: a.lower.ok_or_else(|| ctx("lower"))?,
                mode,
                argv: a.argv,
                env: a.env,
                uid: a.uid.ok_or_else(|| ctx("uid"))?,
                gid: a.gid.ok_or_else(|| ctx("gid"))?,
                supplementary_gids: a.supp,
                cwd: a.cwd.ok_or_else(|| ctx("cwd"))?,
                caps: a.caps,
                readonly_rootfs: a.readonly.ok_or_else(|| ctx("readonly"))?,
                protect_kernel: a.protect_kernel.ok_or_else(|| ctx("protect-kernel"))?,
                no_new_privs: a.no_new_privs.ok_or_else(|| ctx("no-new-privs"))?,
                seccomp: a.seccomp,
                cgroup_procs: a.cgroup_procs,
                cgroup_dir: a.cgroup_dir,
                oom_score_adj: a.oom_score_adj,
                interactive: a.interactive.ok_or_else(|| ctx("interactive"))?,
                mounts: a.mounts,
                pre_start: a.pre_start,
                post_stop: a.post_stop,
                name: a.name,
            });
        }
        Ok(Plan {
            uuid: self.uuid.ok_or_else(|| need("uuid"))?,
            hostname: self.hostname.ok_or_else(|| need("hostname"))?,
            pod_dir: self.pod_dir.ok_or_else(|| need("pod-dir"))?,
            net: self.net.ok_or_else(|| need("net"))?,
            hosts: self.hosts.ok_or_else(|| need("hosts"))?,
            resolv: self.resolv.ok_or_else(|| need("resolv"))?,
            cgroup_mounts: self.cgroup_mounts,
            stage1_cgroup_procs: self.stage1_cgroup_procs,
            output: self.output.ok_or_else(|| need("output"))?,
            devices_by_cgroup: self.devices.ok_or_else(|| need("devices"))?,
            apps,
        })
    }
}
