//! `auth.d/*.json` (`rktKind: auth`): credentials for image and discovery downloads, each
//! sent only to the domains its file lists. Files come from the system then the local
//! configuration directory; a domain configured in both gets the local credentials.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Error, Result};

/// One `auth.d` file as rkt wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct AuthFile {
    pub(crate) rkt_kind: String,
    pub(crate) rkt_version: String,
    pub(crate) domains: Vec<String>,
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) credentials: Credentials,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Credentials {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) token: Option<String>,
}

/// The credentials in force for one domain.
#[derive(Debug, Clone)]
struct Entry {
    domain: String,
    header: String,
    kind: String,
    credentials: Credentials,
}

/// A `dockerAuth` file (`registries`, basic credentials): valid configuration that `rkt
/// config` shows; this rkt fetches no docker images to use it for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DockerAuthFile {
    rkt_kind: String,
    rkt_version: String,
    registries: Vec<String>,
    credentials: Credentials,
}

/// The credentials in force, per domain (and per docker registry).
#[derive(Debug, Default, Clone)]
pub(crate) struct Auth {
    entries: Vec<Entry>,
    docker: Vec<(String, Credentials)>,
}

/// Config files are small; anything larger is not one.
const FILE_LIMIT: u64 = 64 * 1024;

impl Auth {
    /// Reads `auth.d` under each of `dirs`, later directories overriding earlier ones.
    pub(crate) fn load(dirs: &[&Path]) -> Result<Auth> {
        let mut auth = Auth::default();
        for dir in dirs {
            for path in json_files(&dir.join("auth.d"))? {
                let file = match read_file(&path)? {
                    AnyFile::Auth(f) => f,
                    AnyFile::Docker(d) => {
                        auth.add_docker(d, &path)?;
                        continue;
                    }
                };
                let value = header_value(&file).map_err(|reason| Error::Config {
                    path: path.clone(),
                    reason,
                })?;
                for domain in &file.domains {
                    auth.entries
                        .retain(|e| !e.domain.eq_ignore_ascii_case(domain));
                    auth.entries.push(Entry {
                        domain: domain.to_ascii_lowercase(),
                        header: value.clone(),
                        kind: file.kind.clone(),
                        credentials: file.credentials.clone(),
                    });
                }
            }
        }
        Ok(auth)
    }

    fn add_docker(&mut self, d: DockerAuthFile, path: &Path) -> Result<()> {
        let bad = |reason: &str| Error::Config {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        };
        if d.rkt_version != "v1" {
            return Err(bad("unsupported rktVersion"));
        }
        if d.registries.is_empty() {
            return Err(bad("no registries specified"));
        }
        let c = &d.credentials;
        if c.user.is_none() || c.password.is_none() || c.token.is_some() {
            return Err(bad("docker credentials need exactly user and password"));
        }
        for registry in d.registries {
            self.docker.retain(|(r, _)| *r != registry);
            self.docker.push((registry, d.credentials.clone()));
        }
        Ok(())
    }

    /// The headers for a request to `host`.
    pub(crate) fn headers_for(&self, host: &str) -> Vec<(&'static str, &str)> {
        self.entries
            .iter()
            .filter(|e| e.domain.eq_ignore_ascii_case(host))
            .map(|e| ("authorization", e.header.as_str()))
            .collect()
    }

    /// The merged configuration as `rkt config` prints it (Go's `MarshalIndent` with a tab,
    /// fields in rkt's order; `Marshal` without `--pretty-print`): one auth entry per domain
    /// (sorted), then the paths.
    pub(crate) fn config_json(&self, settings: &crate::config::Settings, pretty: bool) -> String {
        let mut entries: Vec<&Entry> = self.entries.iter().collect();
        entries.sort_by(|a, b| a.domain.cmp(&b.domain));
        let data = settings.data.clone().unwrap_or_default();
        let images = settings.stage1_images.clone().unwrap_or_default();
        let (name, version) = settings.stage1_name.clone().unwrap_or_default();
        let location = settings.stage1_location.clone().unwrap_or_default();
        let mut docker: Vec<&(String, Credentials)> = self.docker.iter().collect();
        docker.sort_by(|a, b| a.0.cmp(&b.0));
        let mut stage0: Vec<Stage0<'_>> = entries
            .into_iter()
            .map(|e| {
                Stage0::Auth(AuthOut {
                    rkt_version: "v1",
                    rkt_kind: "auth",
                    domains: [e.domain.as_str()],
                    kind: &e.kind,
                    credentials: &e.credentials,
                })
            })
            .collect();
        stage0.extend(docker.into_iter().map(|(registry, credentials)| {
            Stage0::Docker(DockerOut {
                rkt_version: "v1",
                rkt_kind: "dockerAuth",
                registries: [registry.as_str()],
                credentials,
            })
        }));
        // rkt 1.30 always printed the paths and stage1 entries, empty when nothing sets them.
        stage0.push(Stage0::Paths(PathsOut {
            rkt_version: "v1",
            rkt_kind: "paths",
            data: &data,
            stage1_images: &images,
        }));
        stage0.push(Stage0::Stage1(Stage1Out {
            rkt_version: "v1",
            rkt_kind: "stage1",
            name: &name,
            version: &version,
            location: &location,
        }));
        let mut out = Vec::new();
        let config = ConfigOut { stage0 };
        if pretty {
            let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
            let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
            config
                .serialize(&mut ser)
                .expect("plain strings always serialize");
        } else {
            serde_json::to_writer(&mut out, &config).expect("plain strings always serialize");
        }
        String::from_utf8(out).expect("serde_json writes UTF-8")
    }
}

#[derive(Serialize)]
struct ConfigOut<'a> {
    stage0: Vec<Stage0<'a>>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Stage0<'a> {
    Auth(AuthOut<'a>),
    Docker(DockerOut<'a>),
    Paths(PathsOut<'a>),
    Stage1(Stage1Out<'a>),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DockerOut<'a> {
    rkt_version: &'a str,
    rkt_kind: &'a str,
    registries: [&'a str; 1],
    credentials: &'a Credentials,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Stage1Out<'a> {
    rkt_version: &'a str,
    rkt_kind: &'a str,
    name: &'a str,
    version: &'a str,
    location: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AuthOut<'a> {
    rkt_version: &'a str,
    rkt_kind: &'a str,
    domains: [&'a str; 1],
    #[serde(rename = "type")]
    kind: &'a str,
    credentials: &'a Credentials,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PathsOut<'a> {
    rkt_version: &'a str,
    rkt_kind: &'a str,
    data: &'a str,
    #[serde(rename = "stage1-images")]
    stage1_images: &'a str,
}

/// The `*.json` files of `dir`, sorted; a missing directory has none.
pub(crate) fn json_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("read directory", dir, e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| Error::io("read directory", dir, e))?
            .path();
        if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

enum AnyFile {
    Auth(AuthFile),
    Docker(DockerAuthFile),
}

fn read_file(path: &Path) -> Result<AnyFile> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| Error::io("open", path, e))?;
    let mut bytes = Vec::new();
    file.take(FILE_LIMIT + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("read", path, e))?;
    if bytes.len() as u64 > FILE_LIMIT {
        return Err(Error::Config {
            path: path.to_path_buf(),
            reason: format!("larger than {FILE_LIMIT} bytes"),
        });
    }
    let bad = |e: serde_json::Error| Error::Config {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Kind {
        rkt_kind: String,
    }
    let kind: Kind = serde_json::from_slice(&bytes).map_err(bad)?;
    if kind.rkt_kind == "dockerAuth" {
        return Ok(AnyFile::Docker(
            serde_json::from_slice(&bytes).map_err(bad)?,
        ));
    }
    Ok(AnyFile::Auth(serde_json::from_slice(&bytes).map_err(bad)?))
}

/// The `Authorization` value of one file, after checking it is an auth file rkt knew.
fn header_value(file: &AuthFile) -> std::result::Result<String, String> {
    if file.rkt_kind != "auth" {
        return Err(format!("rktKind {:?} is not \"auth\"", file.rkt_kind));
    }
    if file.rkt_version != "v1" {
        return Err(format!("unsupported rktVersion {:?}", file.rkt_version));
    }
    if file.domains.is_empty() {
        return Err("no domains listed".into());
    }
    let c = &file.credentials;
    match (file.kind.as_str(), &c.user, &c.password, &c.token) {
        ("basic", Some(user), Some(password), None) => Ok(format!(
            "Basic {}",
            crate::base64::encode(format!("{user}:{password}").as_bytes())
        )),
        ("oauth", None, None, Some(token)) => Ok(format!("Bearer {token}")),
        ("basic", ..) => Err("basic credentials need exactly user and password".into()),
        ("oauth", ..) => Err("oauth credentials need exactly token".into()),
        (other, ..) => Err(format!("unknown auth type {other:?} (basic or oauth)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(kind: &str, creds: Credentials) -> AuthFile {
        AuthFile {
            rkt_kind: "auth".into(),
            rkt_version: "v1".into(),
            domains: vec!["example.com".into()],
            kind: kind.into(),
            credentials: creds,
        }
    }

    #[test]
    fn header_values_by_type() {
        let basic = Credentials {
            user: Some("user".into()),
            password: Some("pass".into()),
            token: None,
        };
        let oauth = Credentials {
            user: None,
            password: None,
            token: Some("tok".into()),
        };
        assert_eq!(
            header_value(&file("basic", basic.clone())).unwrap(),
            "Basic dXNlcjpwYXNz"
        );
        assert_eq!(
            header_value(&file("oauth", oauth.clone())).unwrap(),
            "Bearer tok"
        );
        assert!(header_value(&file("oauth", basic)).is_err());
        assert!(header_value(&file("digest", oauth)).is_err());
    }

    #[test]
    fn headers_only_for_listed_domains_and_local_wins() {
        let dir = std::env::temp_dir().join(format!("rkt-auth-{}", std::process::id()));
        let (sys, local) = (dir.join("sys"), dir.join("local"));
        for (d, token) in [(&sys, "system"), (&local, "local")] {
            std::fs::create_dir_all(d.join("auth.d")).unwrap();
            std::fs::write(
                d.join("auth.d/a.json"),
                format!(
                    r#"{{"rktKind":"auth","rktVersion":"v1","domains":["example.com"],"type":"oauth","credentials":{{"token":"{token}"}}}}"#
                ),
            )
            .unwrap();
        }
        let auth = Auth::load(&[&sys, &local]).unwrap();
        assert_eq!(
            auth.headers_for("EXAMPLE.com"),
            vec![("authorization", "Bearer local")]
        );
        assert!(auth.headers_for("example.org").is_empty());
        assert!(auth.headers_for("sub.example.com").is_empty());
        // rkt 1.30 matched the URL's host[:port] exactly.
        assert!(auth.headers_for("example.com:8443").is_empty());
        let settings = crate::config::Settings {
            data: Some("/home/me/rkt/data".into()),
            ..Default::default()
        };
        assert_eq!(
            auth.config_json(&settings, true),
            "{\n\t\"stage0\": [\n\t\t{\n\t\t\t\"rktVersion\": \"v1\",\n\t\t\t\"rktKind\": \"auth\",\n\t\t\t\"domains\": [\n\t\t\t\t\"example.com\"\n\t\t\t],\n\t\t\t\"type\": \"oauth\",\n\t\t\t\"credentials\": {\n\t\t\t\t\"token\": \"local\"\n\t\t\t}\n\t\t},\n\t\t{\n\t\t\t\"rktVersion\": \"v1\",\n\t\t\t\"rktKind\": \"paths\",\n\t\t\t\"data\": \"/home/me/rkt/data\",\n\t\t\t\"stage1-images\": \"\"\n\t\t},\n\t\t{\n\t\t\t\"rktVersion\": \"v1\",\n\t\t\t\"rktKind\": \"stage1\",\n\t\t\t\"name\": \"\",\n\t\t\t\"version\": \"\",\n\t\t\t\"location\": \"\"\n\t\t}\n\t]\n}"
        );
        // `--pretty-print=false`: Go's json.Marshal, one line.
        assert_eq!(
            auth.config_json(&settings, false),
            r#"{"stage0":[{"rktVersion":"v1","rktKind":"auth","domains":["example.com"],"type":"oauth","credentials":{"token":"local"}},{"rktVersion":"v1","rktKind":"paths","data":"/home/me/rkt/data","stage1-images":""},{"rktVersion":"v1","rktKind":"stage1","name":"","version":"","location":""}]}"#
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
