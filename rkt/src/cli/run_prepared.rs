//! `rkt run-prepared [--net --dns* --hosts-entry --hostname --mds-register=false] UUID`: start
//! a prepared pod and exit with its status, as `run` does.

use std::process::ExitCode;

use argh::FromArgs;

use super::run::{start_options, StartFlags};
use crate::config::Config;
use crate::error::Error;
use crate::stage0;

/// rkt 1.30's run-prepared flags that this build does not implement yet.
pub(crate) const PENDING_FLAGS: &[&str] = &["ipc"];

#[derive(FromArgs, Debug)]
/// run a prepared application pod in rkt
#[argh(subcommand, name = "run-prepared")]
pub(crate) struct Args {
    /// the networks to join (repeatable): default (also bare --net), default-restricted,
    /// a net.d network NAME[:CNI_ARGS], all, none, or host
    #[argh(option)]
    net: Vec<String>,
    /// the pod's hostname (default rkt-<uuid>)
    #[argh(option)]
    hostname: Option<String>,
    /// register the pod with the metadata service: only false (there is no metadata service)
    #[argh(option, default = "false")]
    mds_register: bool,
    /// a DNS server IP (repeatable), or host (the host's resolv.conf), or none (the image's)
    #[argh(option)]
    dns: Vec<String>,
    /// a DNS search domain (repeatable)
    #[argh(option)]
    dns_search: Vec<String>,
    /// a resolver option (repeatable)
    #[argh(option)]
    dns_opt: Vec<String>,
    /// the DNS domain
    #[argh(option)]
    dns_domain: Option<String>,
    /// an /etc/hosts entry IP=HOST (repeatable), or host (the host's /etc/hosts)
    #[argh(option)]
    hosts_entry: Vec<String>,
    /// give the pod's one app a terminal (stdin and a tty of the pod's own) relayed to rkt's
    #[argh(switch)]
    interactive: bool,
    /// the prepared pod's UUID (a unique prefix is enough)
    #[argh(positional)]
    uuid: String,
}

pub(crate) fn run(args: Args, config: &Config) -> Result<ExitCode, Error> {
    if args.mds_register {
        return Err(Error::NotImplemented(
            "rkt run-prepared --mds-register=true (there is no metadata service; use \
             --mds-register=false)"
                .into(),
        ));
    }
    let flags = StartFlags {
        net: args.net,
        hostname: args.hostname,
        dns: stage0::dns::DnsFlags {
            dns: args.dns,
            search: args.dns_search,
            opt: args.dns_opt,
            domain: args.dns_domain,
        },
        hosts_entry: args.hosts_entry,
        interactive: args.interactive,
    };
    let opts = start_options("run-prepared", flags, config)?;
    let code = stage0::run_prepared(&config.data_dir, &args.uuid, &opts)
        .map_err(|e| Error::Launch("run-prepared", Box::new(e)))?;
    Ok(ExitCode::from(code))
}
