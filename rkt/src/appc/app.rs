//! The `app` object: how to run an image (spec aci.md "Image Manifest Schema"; Go
//! `schema/types/app.go`, `exec.go`, `environment.go`, `event_handler.go`). A pod's
//! `apps[].app` uses the same object and replaces the image's wholesale.

use std::collections::BTreeMap;

use super::error::{Error, Path};
use super::isolator::{check_app_isolators, string_map, Isolator};
use super::json::{
    first_repeat, name_value_list, name_value_list_json, Fields, FromJson, Json, ObjectBuilder,
    ToJson,
};
use super::port::Port;
use super::volume::MountPoint;

/// How to run an app.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct App {
    pub(crate) exec: Exec,
    pub(crate) event_handlers: Vec<EventHandler>,
    /// A user name, a number or an absolute path whose owner to use; non-empty.
    pub(crate) user: String,
    /// Like `user`, for the group; non-empty.
    pub(crate) group: String,
    pub(crate) supplementary_gids: Vec<u32>,
    /// An absolute path; `/` when absent.
    pub(crate) working_directory: Option<String>,
    pub(crate) environment: Environment,
    pub(crate) mount_points: Vec<MountPoint>,
    pub(crate) ports: Vec<Port>,
    pub(crate) isolators: Vec<Isolator>,
    pub(crate) user_annotations: UserAnnotations,
    pub(crate) user_labels: UserLabels,
}

impl App {
    /// A minimal app: run `exec` as `user`:`group`.
    pub(crate) fn new(exec: Exec, user: &str, group: &str) -> App {
        App {
            exec,
            event_handlers: Vec::new(),
            user: user.to_owned(),
            group: group.to_owned(),
            supplementary_gids: Vec::new(),
            working_directory: None,
            environment: Environment::default(),
            mount_points: Vec::new(),
            ports: Vec::new(),
            isolators: Vec::new(),
            user_annotations: UserAnnotations::default(),
            user_labels: UserLabels::default(),
        }
    }

    /// The handler for `event`, if any.
    pub(crate) fn event_handler(&self, event: Event) -> Option<&EventHandler> {
        self.event_handlers.iter().find(|h| h.name == event)
    }
}

impl FromJson for App {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<App, Error> {
        let f = Fields::new(v, at)?;
        let required = |name: &'static str| -> Result<String, Error> {
            let s: String = f.opt(name)?.unwrap_or_default();
            if s.is_empty() {
                return Err(Error::rule(&at.field(name), format!("{name} is required")));
            }
            Ok(s)
        };
        let app = App {
            exec: f.opt("exec")?.unwrap_or_default(),
            event_handlers: f.list("eventHandlers")?,
            user: required("user")?,
            group: required("group")?,
            supplementary_gids: f.opt_with("supplementaryGIDs", gids)?.unwrap_or_default(),
            working_directory: working_directory(&f, at)?,
            environment: f.opt("environment")?.unwrap_or_default(),
            mount_points: f.list("mountPoints")?,
            ports: f.list("ports")?,
            isolators: f.list("isolators")?,
            user_annotations: f.opt("userAnnotations")?.unwrap_or_default(),
            user_labels: f.opt("userLabels")?.unwrap_or_default(),
        };
        if let Some(i) = first_repeat(&app.event_handlers, |h| h.name.as_str()) {
            let name = app.event_handlers[i].name.as_str();
            return Err(Error::rule(
                &at.field("eventHandlers").index(i),
                format!("only one eventHandler of name {name:?} allowed"),
            ));
        }
        check_app_isolators(&app.isolators, &at.field("isolators"))?;
        Ok(app)
    }
}

fn working_directory(f: &Fields<'_>, at: &Path<'_>) -> Result<Option<String>, Error> {
    let dir: String = f.opt("workingDirectory")?.unwrap_or_default();
    if dir.is_empty() {
        return Ok(None);
    }
    if !dir.starts_with('/') {
        return Err(Error::invalid(
            &at.field("workingDirectory"),
            &dir,
            "workingDirectory must be an absolute path",
        ));
    }
    Ok(Some(dir))
}

/// Go reads `[]int`; we keep what `setgroups` can take (see [`super::volume::owner_id`]).
fn gids(v: &Json, at: &Path<'_>) -> Result<Vec<u32>, Error> {
    match v {
        Json::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| super::volume::owner_id(item, &at.index(i)))
            .collect(),
        other => Err(Error::wrong_type(at, "an array", other)),
    }
}

impl ToJson for App {
    fn to_json(&self) -> Json {
        let gids: Vec<Json> = self
            .supplementary_gids
            .iter()
            .map(|g| Json::Number((*g).into()))
            .collect();
        ObjectBuilder::new()
            .put("exec", self.exec.to_json())
            .put_nonempty("eventHandlers", &self.event_handlers)
            .put("user", self.user.to_json())
            .put("group", self.group.to_json())
            .put_if(!gids.is_empty(), "supplementaryGIDs", || Json::Array(gids))
            .put_if(self.working_directory.is_some(), "workingDirectory", || {
                Json::String(self.working_directory.clone().unwrap_or_default())
            })
            .put_if(!self.environment.is_empty(), "environment", || {
                self.environment.to_json()
            })
            .put_nonempty("mountPoints", &self.mount_points)
            .put_nonempty("ports", &self.ports)
            .put_nonempty("isolators", &self.isolators)
            .put_if(!self.user_annotations.is_empty(), "userAnnotations", || {
                self.user_annotations.to_json()
            })
            .put_if(!self.user_labels.is_empty(), "userLabels", || {
                self.user_labels.to_json()
            })
            .build()
    }
}

/// The argv of a process. May be empty (since appc 0.7.2); a first element without `/` is looked
/// up in the app's `PATH`. Arguments cannot contain NUL, which execve cannot pass.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Exec(Vec<String>);

impl Exec {
    pub(crate) fn new(args: Vec<String>) -> Result<Exec, Error> {
        Exec::checked(args, &Path::ROOT)
    }

    fn checked(args: Vec<String>, at: &Path<'_>) -> Result<Exec, Error> {
        if let Some(i) = args.iter().position(|a| a.contains('\0')) {
            return Err(Error::invalid(
                &at.index(i),
                &args[i],
                "must not contain a NUL byte",
            ));
        }
        Ok(Exec(args))
    }

    pub(crate) fn args(&self) -> &[String] {
        &self.0
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromJson for Exec {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Exec, Error> {
        Exec::checked(Vec::from_json(v, at)?, at)
    }
}

impl ToJson for Exec {
    /// Go's `exec` has no omitempty, so an empty (nil) argv is written as `null`.
    fn to_json(&self) -> Json {
        if self.0.is_empty() {
            Json::Null
        } else {
            self.0.to_json()
        }
    }
}

/// The two lifecycle events of spec ace.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    /// Runs before the app's exec, which starts only if it succeeds.
    PreStart,
    /// Runs after the app's process exits or is killed.
    PostStop,
}

impl Event {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Event::PreStart => "pre-start",
            Event::PostStop => "post-stop",
        }
    }
}

/// A command run on an event, in the app's root filesystem.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EventHandler {
    pub(crate) name: Event,
    pub(crate) exec: Exec,
}

impl FromJson for EventHandler {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<EventHandler, Error> {
        let f = Fields::new(v, at)?;
        let name: String = f.opt("name")?.unwrap_or_default();
        let name = match name.as_str() {
            "pre-start" => Event::PreStart,
            "post-stop" => Event::PostStop,
            "" => {
                return Err(Error::rule(
                    &at.field("name"),
                    r#"eventHandler "name" cannot be empty"#,
                ))
            }
            other => {
                return Err(Error::invalid(
                    &at.field("name"),
                    other,
                    r#"bad eventHandler "name""#,
                ))
            }
        };
        Ok(EventHandler {
            name,
            exec: f.opt("exec")?.unwrap_or_default(),
        })
    }
}

impl ToJson for EventHandler {
    fn to_json(&self) -> Json {
        ObjectBuilder::new()
            .put("name", Json::String(self.name.as_str().to_owned()))
            .put("exec", self.exec.to_json())
            .build()
    }
}

/// Environment variables in order, names unique and matching `^[A-Za-z_][A-Za-z_0-9.-]*$`
/// (appc 0.8.11 allows `.` and `-`). Values are literal and cannot contain NUL.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Environment(Vec<(String, String)>);

impl Environment {
    pub(crate) fn new(vars: Vec<(String, String)>) -> Result<Environment, Error> {
        Environment::checked(vars, &Path::ROOT)
    }

    fn checked(vars: Vec<(String, String)>, at: &Path<'_>) -> Result<Environment, Error> {
        for (i, (name, value)) in vars.iter().enumerate() {
            let at = at.index(i);
            check_env_name(name, &at.field("name"))?;
            if value.contains('\0') {
                return Err(Error::invalid(
                    &at.field("value"),
                    value,
                    "must not contain a NUL byte",
                ));
            }
        }
        if let Some(i) = first_repeat(&vars, |(n, _)| n.as_str()) {
            let name = &vars[i].0;
            return Err(Error::rule(
                &at.index(i),
                format!("duplicate environment variable of name {name:?}"),
            ));
        }
        Ok(Environment(vars))
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Sets `name` to `value`, replacing an existing variable in place or appending.
    pub(crate) fn set(&mut self, name: &str, value: &str) -> Result<(), Error> {
        check_env_name(name, &Path::ROOT)?;
        if value.contains('\0') {
            return Err(Error::invalid(
                &Path::ROOT,
                value,
                "must not contain a NUL byte",
            ));
        }
        match self.0.iter_mut().find(|(n, _)| n == name) {
            Some(entry) => entry.1 = value.to_owned(),
            None => self.0.push((name.to_owned(), value.to_owned())),
        }
        Ok(())
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn check_env_name(name: &str, at: &Path<'_>) -> Result<(), Error> {
    if name.is_empty() {
        return Err(Error::rule(
            at,
            "environment variable name must not be empty",
        ));
    }
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')) {
        return Err(Error::invalid(
            at,
            name,
            "environment variable does not have valid identifier",
        ));
    }
    Ok(())
}

impl FromJson for Environment {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Environment, Error> {
        Environment::checked(name_value_list(v, at)?, at)
    }
}

impl ToJson for Environment {
    fn to_json(&self) -> Json {
        name_value_list_json(self.iter())
    }
}

/// A free-form `{string: string}` map (`userAnnotations`, `userLabels`). Keys are kept exactly as
/// written (no case folding) and written sorted, as Go writes maps. They must not affect how an
/// app runs.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct UserMap(BTreeMap<String, String>);

/// `userAnnotations`.
pub(crate) type UserAnnotations = UserMap;
/// `userLabels`.
pub(crate) type UserLabels = UserMap;

impl UserMap {
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    pub(crate) fn insert(&mut self, key: &str, value: &str) {
        self.0.insert(key.to_owned(), value.to_owned());
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromJson for UserMap {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<UserMap, Error> {
        string_map(v, at).map(UserMap)
    }
}

impl ToJson for UserMap {
    fn to_json(&self) -> Json {
        Json::Object(
            self.0
                .iter()
                .map(|(k, v)| (k.clone(), Json::String(v.clone())))
                .collect(),
        )
    }
}
