//! The App Container spec 0.8.11 schema: the image and pod manifests, every type in them, their
//! validation, and their JSON. No I/O: callers hand in bytes and get typed values back, or get
//! bytes to write.
//!
//! Every field is a type that can only hold a valid value (parse, don't validate), so a parsed
//! manifest can be trusted downstream. Cross-field rules (unique names, one `pre-start` handler,
//! app isolator sets) are checked when parsing; code that edits the public fields keeps them.
//!
//! Reading follows rkt 1.30, which used appc's Go schema code (`schema/`, `schema/types/`),
//! wherever that code differs from the spec text (reference/appc-spec.md notes each difference
//! as "CODE:"): struct field names match case-insensitively, unknown fields are ignored, a
//! higher `acVersion` major is accepted, consecutive separators in names pass, unknown isolators
//! are refused in an app but kept in a pod. Writing gives Go's canonical bytes (field names and
//! order of the Go structs, `omitempty` as there; see [`json`]); the pretty form is
//! tab-indented, as rkt's `cat-manifest --pretty-print` printed it.
//!
//! Deliberate differences from the Go code, each because Go's behaviour is unsafe or cannot be
//! written back out:
//! - a field given twice (also as `name` and `NAME`) is an error; Go keeps the last one;
//! - image IDs must be lower-case hex (Go accepts `sha512-../x`; IDs name store files);
//! - an AC Identifier may not hold an empty, `.` or `..` path component (names become trust
//!   store directories);
//! - a document carrying the other manifest kind's field (`apps` in an image manifest, `app` in
//!   a pod manifest) is refused;
//! - required names (labels, annotations, mounts, isolators), a pod app's image ID and a pod
//!   manifest's `acVersion` must be present, and mounts need a path; Go lets these through
//!   empty and then fails to write them back or to run the pod;
//! - a known isolator without a value is an error (Go panics);
//! - numbers are checked against their real range: ports 1..=65535 including `hostPort` and the
//!   end of a range (Go's uint addition can wrap), uids and gids fit a Linux id;
//! - strings that reach execve (exec arguments, environment values) cannot contain NUL;
//! - a resource quantity needs a digit (`"+"` is not zero).

// A schema library: parts of its API (constructors, accessors, the quantity and semver
// arithmetic) serve the tests and the commands still to come (pod manifests, isolators).
#![allow(dead_code)]

mod annotations;
mod app;
mod error;
mod hash;
mod image;
pub(crate) mod isolator;
mod json;
mod labels;
mod name;
mod pod;
mod port;
mod quantity;
mod semver;
mod volume;

#[cfg(test)]
mod tests;

// The module's API; unused until its consumers arrive, like the items themselves.
#[allow(unused_imports)]
pub(crate) use self::{
    annotations::Annotations,
    app::{App, Environment, Event, EventHandler, Exec, UserAnnotations, UserLabels, UserMap},
    error::{Error, Kind as ErrorKind},
    hash::{Hash, ImageId},
    image::{Dependency, ImageManifest},
    isolator::{Isolator, Resource, Seccomp, SelinuxContext},
    json::Json,
    labels::{Labels, VALID_OS_ARCH},
    name::{AcIdentifier, AcName},
    pod::{PodManifest, RuntimeApp, RuntimeImage},
    port::{ExposedPort, Port},
    quantity::Quantity,
    semver::SemVer,
    volume::{Mount, MountPoint, Volume, VolumeKind},
};
