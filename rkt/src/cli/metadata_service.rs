//! `rkt metadata-service [--listen-port=PORT]`: runs the appc metadata service in the
//! foreground until SIGINT or SIGTERM (see [`crate::mds`]).

use std::process::ExitCode;

use argh::FromArgs;

use crate::config::Config;
use crate::error::Error;

#[derive(FromArgs, Debug)]
/// run the metadata service, through which apps introspect their pod and sign as it
#[argh(subcommand, name = "metadata-service")]
pub(crate) struct Args {
    /// TCP port of the public API (default 18112)
    #[argh(option, default = "crate::mds::PORT")]
    listen_port: u16,
}

pub(crate) fn run(args: Args, config: &Config) -> Result<ExitCode, Error> {
    let opts = crate::mds::Options {
        port: args.listen_port,
        socket: crate::paths::MDS_SOCKET.into(),
        state: crate::paths::MDS_STATE_DIR.into(),
        log: config.debug,
    };
    crate::mds::serve(&opts).map_err(Error::Mds)?;
    Ok(ExitCode::SUCCESS)
}
