//! `rkt image list`: the images in the store, as a table or as rkt's JSON
//! (`[{id,name,import_time,last_used_time,size}]`).

use std::process::ExitCode;

use argh::FromArgs;
use serde::Serialize;

use super::format;
use crate::config::Config;
use crate::error::Error;
use crate::store::{Record, Store};

#[derive(FromArgs, Debug)]
/// list images in the local store
#[argh(subcommand, name = "list")]
pub(crate) struct Args {
    /// comma-separated list of fields to display: id, name, size, importtime, lastused, latest
    #[argh(option, default = "String::from(\"id,name,size,importtime,lastused\")")]
    fields: String,
    /// sort by a comma-separated list of fields: name, importtime, lastused, size
    #[argh(option, default = "String::from(\"importtime\")")]
    sort: String,
    /// the sorting order: asc or desc
    #[argh(option, default = "String::from(\"asc\")")]
    order: String,
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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Id,
    Name,
    Size,
    ImportTime,
    LastUsed,
    Latest,
}

const FIELDS: [(&str, Field, &str); 6] = [
    ("id", Field::Id, "ID"),
    ("name", Field::Name, "NAME"),
    ("size", Field::Size, "SIZE"),
    ("importtime", Field::ImportTime, "IMPORT TIME"),
    ("lastused", Field::LastUsed, "LAST USED"),
    ("latest", Field::Latest, "LATEST"),
];

fn parse_fields(flag: &str, list: &str, allowed: &[Field]) -> Result<Vec<Field>, Error> {
    let mut out = Vec::new();
    for word in list.split(',') {
        let word = word.trim().to_ascii_lowercase();
        let field = FIELDS
            .iter()
            .find(|(name, f, _)| *name == word && allowed.contains(f))
            .map(|(_, f, _)| *f)
            .ok_or_else(|| {
                Error::Usage(format!(
                    "invalid argument {list:?} for \"--{flag}\" flag: unknown field {word:?}"
                ))
            })?;
        if out.contains(&field) {
            return Err(Error::Usage(format!(
                "invalid argument {list:?} for \"--{flag}\" flag: duplicated field {word:?}"
            )));
        }
        out.push(field);
    }
    Ok(out)
}

/// One image as rkt's `lib.ImageListEntry` JSON.
#[derive(Serialize)]
struct Entry<'a> {
    id: &'a str,
    name: String,
    import_time: i64,
    last_used_time: i64,
    size: u64,
}

pub(crate) fn run(args: Args, config: &Config) -> Result<ExitCode, Error> {
    use Field::*;
    let fields = parse_fields(
        "fields",
        &args.fields,
        &[Id, Name, Size, ImportTime, LastUsed, Latest],
    )?;
    let sort = parse_fields("sort", &args.sort, &[Name, ImportTime, LastUsed, Size])?;
    let descending = match args.order.to_ascii_lowercase().as_str() {
        "asc" => false,
        "desc" => true,
        _ => {
            return Err(Error::Usage(format!(
                "invalid argument {:?} for \"--order\" flag: wrong sort order",
                args.order
            )))
        }
    };
    if !matches!(args.format.as_str(), "" | "json" | "json-pretty") {
        return Err(Error::Usage(format!(
            "Invalid format option: {}",
            args.format
        )));
    }
    let store = Store::open(&config.data_dir)?;
    let mut records = store.list()?;
    records.sort_by(|a, b| {
        let ord = sort
            .iter()
            .map(|f| match f {
                Name => a.name.cmp(&b.name),
                ImportTime => a.import_time.cmp(&b.import_time),
                LastUsed => a.last_used.cmp(&b.last_used),
                _ => total_size(a).cmp(&total_size(b)),
            })
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.key.cmp(&b.key));
        if descending {
            ord.reverse()
        } else {
            ord
        }
    });

    if !args.format.is_empty() {
        let entries: Vec<Entry> = records
            .iter()
            .map(|r| Entry {
                id: &r.key,
                name: r.display_name(),
                import_time: r.import_time,
                last_used_time: r.last_used,
                size: total_size(r),
            })
            .collect();
        let json = if args.format == "json" {
            serde_json::to_vec(&entries)
        } else {
            // rkt: json.MarshalIndent(images, "", "\t").
            let mut out = Vec::new();
            let indent = serde_json::ser::PrettyFormatter::with_indent(b"\t");
            let mut ser = serde_json::Serializer::with_formatter(&mut out, indent);
            entries.serialize(&mut ser).map(|()| out)
        };
        let json = json.map_err(|e| Error::Output(e.into()))?;
        let json = String::from_utf8_lossy(&json);
        crate::cli::print_line(&json)?;
        return Ok(ExitCode::SUCCESS);
    }

    let now = crate::store::now_ns();
    let mut rows = Vec::new();
    if !args.no_legend {
        rows.push(fields.iter().map(|f| header(*f).to_string()).collect());
    }
    for r in &records {
        rows.push(fields.iter().map(|f| cell(*f, r, args.full, now)).collect());
    }
    let table = format::tabulate(&rows);
    if !table.is_empty() {
        crate::cli::print_line(table.trim_end_matches('\n'))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn header(field: Field) -> &'static str {
    FIELDS
        .iter()
        .find(|(_, f, _)| *f == field)
        .map(|(_, _, h)| *h)
        .unwrap_or("")
}

/// rkt showed the image plus its rendered tree.
fn total_size(r: &Record) -> u64 {
    r.size + r.tree_size
}

fn cell(field: Field, r: &Record, full: bool, now: i64) -> String {
    match field {
        Field::Id if full => r.key.clone(),
        Field::Id => r
            .key()
            .map(|k| k.list_form().to_string())
            .unwrap_or_else(|| r.key.clone()),
        Field::Name => r.display_name(),
        Field::Size if full => total_size(r).to_string(),
        Field::Size => format::ibytes(total_size(r)),
        Field::ImportTime if full => format::go_time(r.import_time),
        Field::ImportTime => format::relative_time(r.import_time, now),
        Field::LastUsed if full => format::go_time(r.last_used),
        Field::LastUsed => format::relative_time(r.last_used, now),
        Field::Latest => r.latest.to_string(),
    }
}
