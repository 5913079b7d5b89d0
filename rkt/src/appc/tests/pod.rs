//! The pod manifest: apps, runtime images, mounts, volumes, exposed ports (appc-spec.md §2.1;
//! Go `schema/pod.go`, `types/volume.go`, `types/port.go`).

use super::super::{AcName, PodManifest, VolumeKind};
use super::{expect_pod, pod_app_doc, pod_doc, pod_table, OK};

#[test]
fn top_level_rules() {
    pod_table(
        &[
            ("", OK),
            (
                r#","apps":null,"volumes":null,"isolators":null,"annotations":null,"ports":null"#,
                OK,
            ),
            (
                r#","apps":[],"volumes":[],"isolators":[],"annotations":[],"ports":[]"#,
                OK,
            ),
            (r#","userAnnotations":{"k":"v"},"userLabels":{"K":"v"}"#, OK),
            (
                r#","annotations":[{"name":"ip-address","value":"10.1.2.3"}]"#,
                OK,
            ),
            (
                r#","annotations":[{"name":"homepage","value":"gopher://x"}]"#,
                "bad URL scheme",
            ),
            (
                r#","apps":{}"#,
                "invalid apps: must be an array, not an object",
            ),
            (
                r#","userLabels":{"k":1}"#,
                r#"invalid userLabels["k"]: must be a string"#,
            ),
        ],
        pod_doc,
    );
    pod_table(
        &[
            (r#""0.8.11""#, OK),
            (r#""1.0.0""#, OK),
            (r#""0.5.0""#, OK),
            (r#""0.8""#, r#"invalid acVersion "0.8": SemVer is bad"#),
            (r#""0.0.0""#, "SemVer cannot be zero"),
            (
                r#"0.8"#,
                "invalid acVersion: must be a string, not a number",
            ),
        ],
        |v| format!(r#"{{"acKind":"PodManifest","acVersion":{v}}}"#),
    );
    pod_table(
        &[
            (
                r#"{"acKind":"PodManifest"}"#,
                "missing required field acVersion",
            ),
            (
                r#"{"acVersion":"0.8.11"}"#,
                r#"invalid acKind: missing or bad ACKind (must be "PodManifest")"#,
            ),
            (
                r#"{"acVersion":"0.8.11","acKind":"ImageManifest"}"#,
                r#"invalid acKind "ImageManifest": missing or bad ACKind"#,
            ),
            (
                r#"{"acVersion":"0.8.11","acKind":"podmanifest"}"#,
                "missing or bad ACKind",
            ),
            (
                r#"{"acVersion":"0.8.11","acKind":"ContainerRuntimeManifest"}"#,
                "missing or bad ACKind",
            ),
            (
                r#"{"acVersion":"0.8.11","acKind":5}"#,
                "invalid acKind: must be a string",
            ),
        ],
        str::to_owned,
    );
}

#[test]
fn runtime_app_rules() {
    let apps = |list: &str| pod_doc(&format!(r#","apps":{list}"#));
    pod_table(
        &[
            (r#"[{"name":"a","image":{"id":"sha512-aa"}}]"#, OK),
            (
                r#"[{"name":"a","image":{"id":"sha512-aa"}},{"name":"b","image":{"id":"sha512-aa"}}]"#,
                OK,
            ),
            (
                r#"[{"name":"a","image":{"name":"example.com/a","id":"sha512-aa","labels":[{"name":"version","value":"1"}]},"readOnlyRootFS":true}]"#,
                OK,
            ),
            (
                r#"[{"name":"a","image":{"id":"sha512-aa"}},{"name":"a","image":{"id":"sha512-bb"}}]"#,
                r#"invalid apps[1]: duplicate apps of name "a""#,
            ),
            (
                r#"[{"name":"A","image":{"id":"sha512-aa"}}]"#,
                r#"invalid apps[0].name "A": ACName"#,
            ),
            (
                r#"[{"name":"a.b","image":{"id":"sha512-aa"}}]"#,
                "ACName must contain only",
            ),
            (
                r#"[{"image":{"id":"sha512-aa"}}]"#,
                "missing required field apps[0].name",
            ),
            (r#"[{"name":"a"}]"#, "missing required field apps[0].image"),
            (
                r#"[{"name":"a","image":{}}]"#,
                "missing required field apps[0].image.id",
            ),
            (
                r#"[{"name":"a","image":{"id":"sha256-aa"}}]"#,
                "unrecognized hash type",
            ),
            (
                r#"[{"name":"a","image":{"id":"sha512-aa","name":"Bad"}}]"#,
                r#"invalid apps[0].image.name "Bad""#,
            ),
            (
                r#"[{"name":"a","image":{"id":"sha512-aa","labels":[{"name":"arch","value":"x"},{"name":"os","value":"linux"}]}}]"#,
                r#"invalid apps[0].image.labels: bad arch "x" for linux"#,
            ),
            (
                r#"[{"name":"a","image":{"id":"sha512-aa"},"readOnlyRootFS":"true"}]"#,
                "must be a boolean",
            ),
            (
                r#"[{"name":"a","image":{"id":"sha512-aa"},"annotations":[{"name":"created","value":"x"}]}]"#,
                "invalid apps[0].annotations[0].value \"x\": bad Date",
            ),
            (
                r#"[{"name":"a","image":{"id":"sha512-aa"},"app":{"exec":["/x"]}}]"#,
                "invalid apps[0].app.user: user is required",
            ),
        ],
        apps,
    );
    let pod = expect_pod(
        &apps(r#"[{"name":"a","image":{"id":"sha512-aa"},"app":{"exec":["/bin/x"],"user":"1","group":"2"}}]"#),
        OK,
    )
    .unwrap();
    let a = pod.app(&AcName::parse("a").unwrap()).unwrap();
    assert_eq!(a.app.as_ref().unwrap().user, "1");
    assert_eq!(a.image.id.as_str(), "sha512-aa");
    assert!(pod.app(&AcName::parse("b").unwrap()).is_none());
}

#[test]
fn mount_rules() {
    let mounts = |list: &str| pod_app_doc(&format!(r#","mounts":{list}"#));
    pod_table(
        &[
            (r#"[{"volume":"work","path":"/mnt/foo"}]"#, OK),
            (r#"[{"volume":"work","path":"/mnt/foo","appVolume":{"name":"work","kind":"empty"}}]"#, OK),
            (r#"[{"volume":"work","path":"/a"},{"volume":"work","path":"/b"}]"#, OK),
            (r#"[{"path":"/mnt/foo"}]"#, "missing required field apps[0].mounts[0].volume"),
            (r#"[{"volume":"work"}]"#, "missing required field apps[0].mounts[0].path"),
            (r#"[{"volume":"work","path":""}]"#, "missing required field apps[0].mounts[0].path"),
            (r#"[{"volume":"Work","path":"/x"}]"#, r#"invalid apps[0].mounts[0].volume "Work""#),
            // The v0.5 form named a mount point instead of a path.
            (r#"[{"volume":"work","mountPoint":"work"}]"#, "missing required field apps[0].mounts[0].path"),
            (
                r#"[{"volume":"work","path":"/x","appVolume":{"name":"work","kind":"host"}}]"#,
                "invalid apps[0].mounts[0].appVolume.source: source for host volume cannot be empty",
            ),
        ],
        mounts,
    );
}

#[test]
fn volume_rules() {
    let volumes = |list: &str| pod_doc(&format!(r#","volumes":[{list}]"#));
    pod_table(
        &[
            (
                r#"{"name":"work","kind":"host","source":"/opt/tenant1/work","readOnly":true,"recursive":true}"#,
                OK,
            ),
            (r#"{"name":"work","kind":"host","source":"/opt"}"#, OK),
            (r#"{"name":"tmp","kind":"empty"}"#, OK),
            (
                r#"{"name":"tmp","kind":"empty","mode":"0700","uid":1000,"gid":4294967294,"readOnly":false}"#,
                OK,
            ),
            (r#"{"name":"tmp","kind":"empty","source":""}"#, OK),
            // CODE does not parse the mode.
            (r#"{"name":"tmp","kind":"empty","mode":"rwx"}"#, OK),
            (r#"{"name":"tmp","kind":"empty","recursive":false}"#, OK),
            (
                r#"{"name":"a","kind":"host","source":"/a"},{"name":"b","kind":"empty"}"#,
                OK,
            ),
            (
                r#"{"name":"w","kind":"host","source":"relative/path"}"#,
                r#"invalid volumes[0].source "relative/path": source for host volume must be absolute path"#,
            ),
            (
                r#"{"name":"w","kind":"host"}"#,
                "invalid volumes[0].source: source for host volume cannot be empty",
            ),
            (
                r#"{"name":"w","kind":"host","source":"/a","mode":"0755"}"#,
                "invalid volumes[0].mode: mode for host volume cannot be set",
            ),
            (
                r#"{"name":"w","kind":"host","source":"/a","uid":0}"#,
                "uid for host volume cannot be set",
            ),
            (
                r#"{"name":"w","kind":"host","source":"/a","gid":0}"#,
                "gid for host volume cannot be set",
            ),
            (
                r#"{"name":"w","kind":"empty","source":"/a"}"#,
                "invalid volumes[0].source: source for empty volume must be empty",
            ),
            (
                r#"{"name":"w","kind":"empty","mode":755}"#,
                "invalid volumes[0].mode: must be a string, not a number",
            ),
            (
                r#"{"name":"w","kind":"empty","uid":-1}"#,
                "must be between 0 and 4294967294",
            ),
            (
                r#"{"name":"w","kind":"empty","gid":4294967295}"#,
                "must be between 0 and 4294967294",
            ),
            (
                r#"{"name":"w","kind":"empty","uid":"0"}"#,
                "must be an integer",
            ),
            (
                r#"{"name":"w","kind":"tmpfs"}"#,
                r#"invalid volumes[0].kind "tmpfs": unrecognized volume kind: should be one of "empty", "host""#,
            ),
            (
                r#"{"name":"w","kind":"Host","source":"/a"}"#,
                "unrecognized volume kind",
            ),
            (
                r#"{"name":"w"}"#,
                r#"invalid volumes[0].kind "": unrecognized volume kind"#,
            ),
            (
                r#"{"kind":"empty"}"#,
                "missing required field volumes[0].name",
            ),
            (r#"{"name":"W","kind":"empty"}"#, "ACName must contain only"),
            (
                r#"{"name":"w","kind":"empty","readOnly":"no"}"#,
                "must be a boolean",
            ),
            (
                r#"{"name":"w","kind":"empty"},{"name":"w","kind":"host","source":"/a"}"#,
                r#"invalid volumes[1]: duplicate volumes of name "w""#,
            ),
        ],
        volumes,
    );
    let pod = expect_pod(
        &volumes(r#"{"name":"tmp","kind":"empty"},{"name":"h","kind":"host","source":"/srv"}"#),
        OK,
    )
    .unwrap();
    let tmp = pod.volume(&AcName::parse("tmp").unwrap()).unwrap();
    assert_eq!(
        tmp.kind,
        VolumeKind::Empty {
            mode: "0755".into(),
            uid: 0,
            gid: 0
        }
    );
    assert!(!tmp.is_read_only());
    // Empty volumes get Go's defaults filled in and written; host volumes omit what is unset.
    assert!(pod.to_json().contains(
        r#""volumes":[{"name":"tmp","kind":"empty","mode":"0755","uid":0,"gid":0},{"name":"h","kind":"host","source":"/srv"}]"#
    ));
}

#[test]
fn exposed_port_rules() {
    let ports = |list: &str| pod_doc(&format!(r#","ports":[{list}]"#));
    pod_table(
        &[
            (r#"{"name":"ftp","hostPort":2121}"#, OK),
            (r#"{"name":"ftp","hostPort":65535,"hostIP":"10.0.0.1"}"#, OK),
            (r#"{"name":"ftp","hostPort":21,"hostIP":"::1"}"#, OK),
            (r#"{"name":"ftp","hostPort":21,"hostIP":""}"#, OK),
            (
                r#"{"name":"ftp","hostPort":2121,"podPort":{"name":"ftp","protocol":"tcp","port":21}}"#,
                OK,
            ),
            (
                r#"{"name":"ftp","hostPort":0}"#,
                r#"invalid ports[0].hostPort "0": hostPort must be in 1-65535 range"#,
            ),
            (
                r#"{"name":"ftp","hostPort":65536}"#,
                "hostPort must be in 1-65535 range",
            ),
            (
                r#"{"name":"ftp","hostPort":-2}"#,
                "hostPort must be in 1-65535 range",
            ),
            (
                r#"{"name":"ftp"}"#,
                "missing required field ports[0].hostPort",
            ),
            (r#"{"hostPort":21}"#, "missing required field ports[0].name"),
            (
                r#"{"name":"ftp","hostPort":21,"hostIP":"999.1.1.1"}"#,
                r#"invalid ports[0].hostIP "999.1.1.1": must be an IPv4 or IPv6 address"#,
            ),
            (
                r#"{"name":"ftp","hostPort":21,"hostIP":"localhost"}"#,
                "must be an IPv4 or IPv6 address",
            ),
            (
                r#"{"name":"ftp","hostPort":21,"hostIP":167772161}"#,
                "must be a string",
            ),
            (
                r#"{"name":"ftp","hostPort":21,"podPort":{"name":"ftp","port":0}}"#,
                "invalid ports[0].podPort.port \"0\": port must be in 1-65535 range",
            ),
        ],
        ports,
    );
    let pod = expect_pod(
        &ports(r#"{"name":"ftp","hostPort":21,"hostIP":"::ffff:10.0.0.1"}"#),
        OK,
    )
    .unwrap();
    // As Go prints it.
    assert_eq!(pod.ports[0].host_ip.unwrap().to_string(), "10.0.0.1");
    assert!(pod.to_json().contains(r#""hostIP":"10.0.0.1""#));
    let pod = expect_pod(
        &ports(r#"{"name":"ftp","hostPort":21,"hostIP":"fe80::1"}"#),
        OK,
    )
    .unwrap();
    assert_eq!(pod.ports[0].host_ip.unwrap().to_string(), "fe80::1");
}

#[test]
fn new_pod_writes_go_nulls() {
    let pod = PodManifest::new();
    assert_eq!(
        pod.to_json(),
        r#"{"acVersion":"0.8.11","acKind":"PodManifest","apps":null,"volumes":null,"isolators":null,"annotations":null,"ports":null}"#
    );
    assert_eq!(
        PodManifest::from_json(pod.to_json().as_bytes()).unwrap(),
        pod
    );
    assert_eq!(PodManifest::default(), pod);
}
