//! The `app` object, dependencies and pathWhitelist (appc-spec.md §1.4, §1.5; Go
//! `types/app.go` and friends).

use super::super::{App, Environment, Event, Exec};
use super::{app_doc, expect_image, image_doc, image_table, OK};

#[test]
fn user_and_group_are_required() {
    let rows: &[(&str, &str)] = &[
        (r#"{"user":"0","group":"0"}"#, OK),
        (r#"{"user":"root","group":"wheel"}"#, OK),
        (r#"{"user":"/usr/bin/ping","group":"/usr/bin/ping"}"#, OK),
        (r#"{"group":"0"}"#, "invalid app.user: user is required"),
        (r#"{"user":"","group":"0"}"#, "user is required"),
        (r#"{"user":null,"group":"0"}"#, "user is required"),
        (r#"{"user":"0"}"#, "invalid app.group: group is required"),
        (
            r#"{"user":0,"group":"0"}"#,
            "invalid app.user: must be a string, not a number",
        ),
        (r#"{}"#, "user is required"),
        (r#""app""#, "invalid app: must be an object, not a string"),
        (r#"[]"#, "invalid app: must be an object, not an array"),
        ("null", OK),
    ];
    image_table(rows, |app| image_doc(&format!(r#","app":{app}"#)));
}

#[test]
fn exec_rules() {
    image_table(
        &[
            ("", OK),
            (r#","exec":null"#, OK),
            (r#","exec":[]"#, OK),
            (r#","exec":["/bin/sh","-c","echo hi"]"#, OK),
            // Since appc 0.7.2 a bare name is looked up in PATH.
            (r#","exec":["sh"]"#, OK),
            (r#","exec":["./run",""]"#, OK),
            (
                r#","exec":"/bin/sh""#,
                "invalid app.exec: must be an array, not a string",
            ),
            (
                r#","exec":[1]"#,
                "invalid app.exec[0]: must be a string, not a number",
            ),
            (
                r#","exec":["/bin/sh",null]"#,
                "invalid app.exec[1]: must be a string, not null",
            ),
            (
                r#","exec":["/bin/sh","a\u0000b"]"#,
                r#"invalid app.exec[1] "a\0b": must not contain a NUL byte"#,
            ),
        ],
        app_doc,
    );
    let m = expect_image(&app_doc(r#","exec":["/bin/sh","-c","x"]"#), OK).unwrap();
    assert_eq!(m.app.unwrap().exec.args(), ["/bin/sh", "-c", "x"]);
    assert!(Exec::new(vec!["a\0".into()]).is_err());
    assert!(Exec::new(Vec::new()).unwrap().is_empty());
}

#[test]
fn supplementary_gids_rules() {
    image_table(
        &[
            (r#","supplementaryGIDs":[]"#, OK),
            (r#","supplementaryGIDs":[0,100,4294967294]"#, OK),
            // The spec text spells it this way; Go matches field names case-insensitively.
            (r#","supplementaryGids":[400,500]"#, OK),
            (
                r#","supplementaryGIDs":[-1]"#,
                "invalid app.supplementaryGIDs[0] \"-1\": an id must be between 0 and 4294967294",
            ),
            (
                r#","supplementaryGIDs":[4294967295]"#,
                "must be between 0 and 4294967294",
            ),
            (
                r#","supplementaryGIDs":[1.5]"#,
                "must be an integer, not a number",
            ),
            (r#","supplementaryGIDs":[1e2]"#, "must be an integer"),
            (
                r#","supplementaryGIDs":["1"]"#,
                "must be an integer, not a string",
            ),
            (
                r#","supplementaryGIDs":1"#,
                "invalid app.supplementaryGIDs: must be an array",
            ),
        ],
        app_doc,
    );
    let m = expect_image(&app_doc(r#","supplementaryGids":[400,500]"#), OK).unwrap();
    assert_eq!(m.app.as_ref().unwrap().supplementary_gids, [400, 500]);
    assert!(m.to_json().contains(r#""supplementaryGIDs":[400,500]"#));
}

#[test]
fn event_handler_rules() {
    image_table(
        &[
            (
                r#","eventHandlers":[{"name":"pre-start","exec":["/bin/setup"]},{"name":"post-stop","exec":["/bin/down"]}]"#,
                OK,
            ),
            (r#","eventHandlers":[{"name":"pre-start"}]"#, OK),
            (r#","eventHandlers":[]"#, OK),
            (
                r#","eventHandlers":[{"name":"pre-stop","exec":["/x"]}]"#,
                r#"invalid app.eventHandlers[0].name "pre-stop": bad eventHandler "name""#,
            ),
            (
                r#","eventHandlers":[{"name":"PRE-START","exec":["/x"]}]"#,
                r#"bad eventHandler "name""#,
            ),
            (
                r#","eventHandlers":[{"name":"","exec":["/x"]}]"#,
                r#"eventHandler "name" cannot be empty"#,
            ),
            (
                r#","eventHandlers":[{"exec":["/x"]}]"#,
                r#"eventHandler "name" cannot be empty"#,
            ),
            (
                r#","eventHandlers":[{"name":"pre-start","exec":["/a"]},{"name":"pre-start","exec":["/b"]}]"#,
                r#"invalid app.eventHandlers[1]: only one eventHandler of name "pre-start" allowed"#,
            ),
            (
                r#","eventHandlers":[{"name":"post-stop","exec":"/x"}]"#,
                "invalid app.eventHandlers[0].exec: must be an array",
            ),
        ],
        app_doc,
    );
    let m = expect_image(
        &app_doc(r#","eventHandlers":[{"name":"post-stop","exec":["/bin/down"]}]"#),
        OK,
    )
    .unwrap();
    let app = m.app.unwrap();
    assert_eq!(
        app.event_handler(Event::PostStop).unwrap().exec.args(),
        ["/bin/down"]
    );
    assert!(app.event_handler(Event::PreStart).is_none());
}

#[test]
fn working_directory_rules() {
    image_table(
        &[
            (r#","workingDirectory":"/opt/work""#, OK),
            (r#","workingDirectory":"/""#, OK),
            (r#","workingDirectory":"""#, OK),
            (
                r#","workingDirectory":"opt""#,
                r#"invalid app.workingDirectory "opt": workingDirectory must be an absolute path"#,
            ),
            (r#","workingDirectory":"./x""#, "must be an absolute path"),
            (r#","workingDirectory":["/"]"#, "must be a string"),
        ],
        app_doc,
    );
    let m = expect_image(&app_doc(r#","workingDirectory":"""#), OK).unwrap();
    assert_eq!(m.app.unwrap().working_directory, None);
}

#[test]
fn environment_rules() {
    let env = |list: &str| app_doc(&format!(r#","environment":{list}"#));
    image_table(
        &[
            (
                r#"[{"name":"PATH","value":"/bin"},{"name":"HOME","value":"/root"}]"#,
                OK,
            ),
            (r#"[{"name":"_x1","value":""}]"#, OK),
            // appc 0.8.11 allows dots and dashes after the first character.
            (r#"[{"name":"a.b-c","value":"1"}]"#, OK),
            (r#"[{"name":"NOVALUE"}]"#, OK),
            (r#"[{"name":"V","value":"line\nbreak $HOME"}]"#, OK),
            (
                r#"[{"name":"1X","value":"1"}]"#,
                r#"invalid app.environment[0].name "1X": environment variable does not have valid identifier"#,
            ),
            (
                r#"[{"name":"-X","value":"1"}]"#,
                "does not have valid identifier",
            ),
            (
                r#"[{"name":"A B","value":"1"}]"#,
                "does not have valid identifier",
            ),
            (
                r#"[{"name":"A=B","value":"1"}]"#,
                "does not have valid identifier",
            ),
            (
                r#"[{"name":"\u00e9","value":"1"}]"#,
                "does not have valid identifier",
            ),
            (
                r#"[{"name":"","value":"1"}]"#,
                "invalid app.environment[0].name: environment variable name must not be empty",
            ),
            (
                r#"[{"value":"1"}]"#,
                "missing required field app.environment[0].name",
            ),
            (
                r#"[{"name":"A","value":"1"},{"name":"A","value":"2"}]"#,
                r#"invalid app.environment[1]: duplicate environment variable of name "A""#,
            ),
            (
                r#"[{"name":"A","value":"x\u0000y"}]"#,
                "must not contain a NUL byte",
            ),
            (r#"{"A":"1"}"#, "invalid app.environment: must be an array"),
        ],
        env,
    );
}

#[test]
fn environment_api() {
    let mut env =
        Environment::new(vec![("A".into(), "1".into()), ("B".into(), "2".into())]).unwrap();
    assert_eq!(env.get("A"), Some("1"));
    assert_eq!(env.get("a"), None);
    env.set("A", "3").unwrap();
    env.set("AC_APP_NAME", "web").unwrap();
    let all: Vec<(&str, &str)> = env.iter().collect();
    assert_eq!(all, [("A", "3"), ("B", "2"), ("AC_APP_NAME", "web")]);
    assert!(env.set("1A", "x").is_err());
    assert!(env.set("A", "x\0").is_err());
    assert!(Environment::new(vec![("A".into(), "1".into()), ("A".into(), "2".into())]).is_err());
    assert!(Environment::default().is_empty());
}

#[test]
fn mount_point_rules() {
    let mp = |list: &str| app_doc(&format!(r#","mountPoints":{list}"#));
    image_table(
        &[
            (
                r#"[{"name":"work","path":"/var/lib/work","readOnly":true}]"#,
                OK,
            ),
            (r#"[{"name":"work","path":"/var/lib/work"}]"#, OK),
            (r#"[{"NAME":"work","PATH":"/w","readonly":false}]"#, OK),
            (
                r#"[{"name":"Work","path":"/w"}]"#,
                r#"invalid app.mountPoints[0].name "Work": ACName must contain only"#,
            ),
            (
                r#"[{"name":"w.x","path":"/w"}]"#,
                "ACName must contain only",
            ),
            (
                r#"[{"path":"/w"}]"#,
                "missing required field app.mountPoints[0].name",
            ),
            (
                r#"[{"name":"w"}]"#,
                "missing required field app.mountPoints[0].path",
            ),
            (
                r#"[{"name":"w","path":""}]"#,
                "missing required field app.mountPoints[0].path",
            ),
            (
                r#"[{"name":"w","path":"/w","readOnly":"yes"}]"#,
                "invalid app.mountPoints[0].readOnly: must be a boolean, not a string",
            ),
        ],
        mp,
    );
}

#[test]
fn port_rules() {
    let ports = |list: &str| app_doc(&format!(r#","ports":{list}"#));
    image_table(
        &[
            (r#"[{"name":"http","protocol":"tcp","port":80}]"#, OK),
            (
                r#"[{"name":"dns","protocol":"udp","port":53,"count":2,"socketActivated":true}]"#,
                OK,
            ),
            (
                r#"[{"name":"top","protocol":"tcp","port":65535,"count":1}]"#,
                OK,
            ),
            (
                r#"[{"name":"all","protocol":"tcp","port":1,"count":65535}]"#,
                OK,
            ),
            (
                r#"[{"name":"zero-count","protocol":"tcp","port":8080,"count":0}]"#,
                OK,
            ),
            (
                r#"[{"name":"p","port":0}]"#,
                r#"invalid app.ports[0].port "0": port must be in 1-65535 range"#,
            ),
            (r#"[{"name":"p"}]"#, "port must be in 1-65535 range"),
            (
                r#"[{"name":"p","port":65536}]"#,
                "port must be in 1-65535 range",
            ),
            (
                r#"[{"name":"p","port":-1}]"#,
                "port must be in 1-65535 range",
            ),
            (r#"[{"name":"p","port":80.5}]"#, "must be an integer"),
            (
                r#"[{"name":"p","port":"80"}]"#,
                "must be an integer, not a string",
            ),
            (
                r#"[{"name":"p","port":65535,"count":2}]"#,
                r#"invalid app.ports[0].count "2": end of port range must be in 1-65535 range"#,
            ),
            // Go adds in uint64 and wraps around to a small number; we do not.
            (
                r#"[{"name":"p","port":2,"count":18446744073709551615}]"#,
                "end of port range",
            ),
            (
                r#"[{"name":"p","port":80,"count":-1}]"#,
                "count must not be negative",
            ),
            (r#"[{"name":"P","port":80}]"#, "ACName must contain only"),
            (
                r#"[{"port":80}]"#,
                "missing required field app.ports[0].name",
            ),
            (
                r#"[{"name":"p","port":80,"socketActivated":1}]"#,
                "must be a boolean",
            ),
        ],
        ports,
    );
    let m = expect_image(
        &ports(r#"[{"name":"zero-count","port":8080,"count":0}]"#),
        OK,
    )
    .unwrap();
    let port = &m.app.as_ref().unwrap().ports[0];
    assert_eq!(
        (
            port.port,
            port.count,
            port.protocol.as_str(),
            port.socket_activated
        ),
        (8080, 1, "", false)
    );
    // Go writes every Port field.
    assert!(m.to_json().contains(r#""ports":[{"name":"zero-count","protocol":"","port":8080,"count":1,"socketActivated":false}]"#));
}

#[test]
fn user_annotations_and_labels_rules() {
    for field in ["userAnnotations", "userLabels"] {
        image_table(
            &[
                (r#"{}"#, OK),
                (r#"{"a":"b","A":"c","with space":"x","":"empty key"}"#, OK),
                (
                    r#"{"a":1}"#,
                    r#"invalid app.FIELD["a"]: must be a string, not a number"#,
                ),
                (r#"[]"#, "must be an object, not an array"),
                (r#"{"a":"1","a":"2"}"#, r#"duplicate key "a""#),
            ]
            .map(|(doc, expect)| (doc, expect.replace("FIELD", field)))
            .iter()
            .map(|(d, e)| (*d, e.as_str()))
            .collect::<Vec<_>>(),
            |map| app_doc(&format!(r#","{field}":{map}"#)),
        );
    }
    let m = expect_image(&app_doc(r#","userLabels":{"b":"2","a":"1","A":"0"}"#), OK).unwrap();
    let app = m.app.as_ref().unwrap();
    assert_eq!(app.user_labels.get("A"), Some("0"));
    assert_eq!(app.user_labels.get("a"), Some("1"));
    // Written sorted by key, as Go writes maps.
    assert!(m
        .to_json()
        .contains(r#""userLabels":{"A":"0","a":"1","b":"2"}"#));
}

#[test]
fn dependency_rules() {
    let deps = |list: &str| image_doc(&format!(r#","dependencies":{list}"#));
    image_table(
        &[
            (r#"[{"imageName":"example.com/base"}]"#, OK),
            (
                r#"[{"imageName":"example.com/base","imageID":"sha512-abcd","labels":[{"name":"os","value":"linux"}],"size":12345}]"#,
                OK,
            ),
            (r#"[{"imageName":"example.com/base","size":0}]"#, OK),
            (r#"[{"imageName":"a"},{"imageName":"a"}]"#, OK),
            (
                r#"[{"imageID":"sha512-ab"}]"#,
                "missing required field dependencies[0].imageName",
            ),
            (r#"[{"imageName":""}]"#, "ACIdentifier cannot be empty"),
            (
                r#"[{"imageName":"Base"}]"#,
                r#"invalid dependencies[0].imageName "Base""#,
            ),
            (
                r#"[{"imageName":"a","imageID":"sha256-ab"}]"#,
                "unrecognized hash type",
            ),
            (
                r#"[{"imageName":"a","labels":[{"name":"os","value":"beos"}]}]"#,
                r#"invalid dependencies[0].labels: bad os "beos""#,
            ),
            (
                r#"[{"imageName":"a","size":-1}]"#,
                "size must not be negative",
            ),
            (r#"[{"imageName":"a","size":"1"}]"#, "must be an integer"),
            (
                r#"{"imageName":"a"}"#,
                "invalid dependencies: must be an array",
            ),
        ],
        deps,
    );
    let m = expect_image(
        &deps(r#"[{"imageName":"a","size":0},{"imageName":"b","size":7}]"#),
        OK,
    )
    .unwrap();
    assert_eq!(m.dependencies[0].size, None);
    assert_eq!(m.dependencies[1].size, Some(7));
    assert!(m
        .to_json()
        .contains(r#""dependencies":[{"imageName":"a"},{"imageName":"b","size":7}]"#));
}

#[test]
fn path_whitelist_rules() {
    image_table(
        &[
            (
                r#"["/etc/ca/example.com/crt","/usr/bin/map-reduce-worker"]"#,
                OK,
            ),
            (r#"[]"#, OK),
            (r#"[1]"#, "invalid pathWhitelist[0]: must be a string"),
            (r#""/etc""#, "invalid pathWhitelist: must be an array"),
        ],
        |list| image_doc(&format!(r#","pathWhitelist":{list}"#)),
    );
    // An empty whitelist is the same as none, and is not written.
    let m = expect_image(&image_doc(r#","pathWhitelist":[]"#), OK).unwrap();
    assert!(!m.to_json().contains("pathWhitelist"));
}

#[test]
fn app_constructor_writes_the_minimal_form() {
    let app = App::new(Exec::new(vec!["/bin/true".into()]).unwrap(), "0", "0");
    let mut m = super::super::ImageManifest::new(
        super::super::AcIdentifier::parse("example.com/t").unwrap(),
    );
    m.app = Some(app);
    assert_eq!(
        m.to_json(),
        r#"{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/t","app":{"exec":["/bin/true"],"user":"0","group":"0"}}"#
    );
    let no_exec = App::new(Exec::default(), "0", "0");
    m.app = Some(no_exec);
    assert!(m
        .to_json()
        .contains(r#""app":{"exec":null,"user":"0","group":"0"}"#));
    assert_eq!(
        super::super::ImageManifest::from_json(m.to_json().as_bytes()).unwrap(),
        m
    );
}
