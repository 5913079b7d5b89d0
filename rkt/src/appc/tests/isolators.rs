//! Isolators: every known kind with its value rules, the app-level set rules, and unknown names
//! (appc-spec.md §3.7; Go `types/isolator*.go`).

use super::super::json::Json;
use super::super::{AcIdentifier, Isolator};
use super::{app_doc, expect_image, expect_pod, image_table, pod_app_doc, pod_doc, pod_table, OK};

fn one(name: &str, value: &str) -> String {
    app_doc(&format!(
        r#","isolators":[{{"name":"{name}","value":{value}}}]"#
    ))
}

fn table(name: &str, rows: &[(&str, &str)]) {
    image_table(rows, |value| one(name, value));
}

#[test]
fn resource_cpu_and_memory() {
    for name in ["resource/cpu", "resource/memory"] {
        table(
            name,
            &[
                (r#"{"request":"250m","limit":"500m"}"#, OK),
                (r#"{"limit":"1"}"#, OK),
                (r#"{"request":"1G","limit":"2Gi"}"#, OK),
                (r#"{"default":false,"limit":"1"}"#, OK),
                (r#"{}"#, OK),
                (r#"{"limit":2}"#, OK),
                (r#"{"limit":" 1G "}"#, OK),
                (r#"{"limit":null}"#, OK),
                (
                    r#"{"default":true,"limit":"1"}"#,
                    "invalid app.isolators[0].value.default: default must be false",
                ),
                (
                    r#"{"limit":"1GB"}"#,
                    r#"invalid app.isolators[0].value.limit "1GB": quantities must match the regular expression"#,
                ),
                (r#"{"request":"lots"}"#, "quantities must match"),
                (
                    r#"{"limit":true}"#,
                    "must be a quantity string, not a boolean",
                ),
                (
                    r#""1G""#,
                    "invalid app.isolators[0].value: must be an object, not a string",
                ),
                (r#"null"#, "missing required field app.isolators[0].value"),
            ],
        );
    }
    let m = expect_image(
        &one(
            "resource/memory",
            r#"{"request":"125952Ki","limit":"123Mi"}"#,
        ),
        OK,
    )
    .unwrap();
    let Isolator::ResourceMemory(r) = &m.app.as_ref().unwrap().isolators[0] else {
        panic!("not memory")
    };
    assert_eq!(r.limit.as_ref().unwrap().value(), 128_974_848);
    assert_eq!(r.request_or_limit().unwrap().value(), 128_974_848);
    let m = expect_image(&one("resource/cpu", r#"{"limit":"500m"}"#), OK).unwrap();
    let Isolator::ResourceCpu(r) = &m.app.as_ref().unwrap().isolators[0] else {
        panic!("not cpu")
    };
    assert_eq!(r.request_or_limit().unwrap().milli_value(), 500);
    assert!(m
        .to_json()
        .contains(r#"{"name":"resource/cpu","value":{"default":false,"limit":"500m"}}"#));
}

#[test]
fn resource_bandwidth_and_iops() {
    for name in [
        "resource/block-bandwidth",
        "resource/block-iops",
        "resource/network-bandwidth",
    ] {
        table(
            name,
            &[
                (r#"{"default":true,"limit":"1M"}"#, OK),
                (r#"{"default":true}"#, OK),
                (r#"{"limit":"1M"}"#, "default must be true"),
                (r#"{"default":false,"limit":"1M"}"#, "default must be true"),
                (
                    r#"{"default":true,"request":"1","limit":"2"}"#,
                    "invalid app.isolators[0].value.request: request not supported by this resource, must be empty",
                ),
                (r#"{"default":"true"}"#, "must be a boolean"),
            ],
        );
    }
}

#[test]
fn capability_sets() {
    for name in [
        "os/linux/capabilities-retain-set",
        "os/linux/capabilities-remove-set",
    ] {
        table(
            name,
            &[
                (r#"{"set":["CAP_NET_BIND_SERVICE","CAP_SYS_ADMIN"]}"#, OK),
                (r#"{"set":["CAP_KILL"],"other":1}"#, OK),
                (
                    r#"{"set":[]}"#,
                    "invalid app.isolators[0].value.set: set must be non-empty",
                ),
                (r#"{}"#, "set must be non-empty"),
                (r#"{"set":"CAP_KILL"}"#, "must be an array"),
                (
                    r#"{"set":[1]}"#,
                    "invalid app.isolators[0].value.set[0]: must be a string",
                ),
                (r#"["CAP_KILL"]"#, "must be an object"),
            ],
        );
    }
    // CODE: retain and remove sets may be combined (the spec text says they cannot).
    let both = app_doc(
        r#","isolators":[{"name":"os/linux/capabilities-retain-set","value":{"set":["CAP_KILL"]}},
        {"name":"os/linux/capabilities-remove-set","value":{"set":["CAP_CHOWN"]}},
        {"name":"os/linux/capabilities-remove-set","value":{"set":["CAP_FOWNER"]}}]"#,
    );
    expect_image(&both, OK);
}

#[test]
fn no_new_privileges() {
    table(
        "os/linux/no-new-privileges",
        &[
            ("true", OK),
            ("false", OK),
            (
                r#""true""#,
                "invalid app.isolators[0].value: must be a boolean, not a string",
            ),
            ("1", "must be a boolean"),
        ],
    );
}

#[test]
fn seccomp_sets() {
    for name in ["os/linux/seccomp-retain-set", "os/linux/seccomp-remove-set"] {
        table(
            name,
            &[
                (r#"{"set":["@appc.io/all"]}"#, OK),
                (r#"{"set":["@appc.io/empty"]}"#, OK),
                (r#"{"set":["read","write"],"errno":"EPERM"}"#, OK),
                (r#"{"set":["read"],"errno":"E2BIG"}"#, OK),
                (r#"{"set":["read"],"errno":""}"#, OK),
                (
                    r#"{"set":["read"],"errno":"eperm"}"#,
                    r#"invalid app.isolators[0].value.errno "eperm": errno must be an upper case string"#,
                ),
                (
                    r#"{"set":["read"],"errno":"PERM"}"#,
                    "errno must be an upper case string",
                ),
                (
                    r#"{"set":["read"],"errno":"E-PERM"}"#,
                    "errno must be an upper case string",
                ),
                (r#"{"set":["read"],"errno":1}"#, "must be a string"),
                (r#"{"set":[]}"#, "set must be non-empty"),
            ],
        );
    }
}

#[test]
fn integer_isolators() {
    table(
        "os/linux/oom-score-adj",
        &[
            ("-1000", OK),
            ("0", OK),
            ("1000", OK),
            (
                "1001",
                r#"invalid app.isolators[0].value "1001": os/linux/oom-score-adj must be between -1000 and 1000"#,
            ),
            ("-1001", "must be between -1000 and 1000"),
            ("99999999999999999999", "must be an integer"),
            ("1.5", "must be an integer, not a number"),
            (r#""5""#, "must be an integer, not a string"),
        ],
    );
    table(
        "os/linux/cpu-shares",
        &[
            ("2", OK),
            ("1024", OK),
            ("262144", OK),
            ("1", "os/linux/cpu-shares must be between 2 and 262144"),
            ("262145", "must be between 2 and 262144"),
            ("-5", "must be between 2 and 262144"),
        ],
    );
}

#[test]
fn selinux_and_apparmor() {
    table(
        "os/linux/selinux-context",
        &[
            (
                r#"{"user":"system_u","role":"system_r","type":"svirt_lxc_net_t","level":"s0:c1,c2"}"#,
                OK,
            ),
            (
                r#"{"user":"","role":"r","type":"t","level":"s0"}"#,
                r#"invalid app.isolators[0].value.user "": invalid user value"#,
            ),
            (
                r#"{"user":"u:x","role":"r","type":"t","level":"s0"}"#,
                "invalid user value",
            ),
            (
                r#"{"user":"u","role":"r:x","type":"t","level":"s0"}"#,
                "invalid role value",
            ),
            (
                r#"{"user":"u","role":"r","type":"t:x","level":"s0"}"#,
                "invalid type value",
            ),
            (
                r#"{"user":"u","role":"r","level":"s0"}"#,
                "invalid type value",
            ),
            (
                r#"{"user":"u","role":"r","type":"t","level":""}"#,
                "invalid level value",
            ),
        ],
    );
    table(
        "os/linux/apparmor-profile",
        &[
            (r#"{"profile":"docker-default"}"#, OK),
            (r#"{"profile":""}"#, "apparmor profile must not be empty"),
            (r#"{}"#, "apparmor profile must not be empty"),
            (r#""docker-default""#, "must be an object"),
        ],
    );
}

#[test]
fn sysctl() {
    table(
        "os/unix/sysctl",
        &[
            (
                r#"{"net.ipv4.ip_forward":"1","net.core.somaxconn":"1024"}"#,
                OK,
            ),
            (r#"{}"#, OK),
            (r#"{"Net.Mixed.Case":"1"}"#, OK),
            (
                r#"{"net.x":1}"#,
                r#"invalid app.isolators[0].value["net.x"]: must be a string, not a number"#,
            ),
            (r#"[]"#, "must be an object"),
        ],
    );
    let m = expect_image(&one("os/unix/sysctl", r#"{"net.b":"2","Net.a":"1"}"#), OK).unwrap();
    let Isolator::Sysctl(map) = &m.app.as_ref().unwrap().isolators[0] else {
        panic!("not sysctl")
    };
    assert_eq!(map.get("Net.a").map(String::as_str), Some("1"));
    assert!(m
        .to_json()
        .contains(r#"{"name":"os/unix/sysctl","value":{"Net.a":"1","net.b":"2"}}"#));
}

#[test]
fn app_isolator_set_rules() {
    let set = |list: &str| app_doc(&format!(r#","isolators":{list}"#));
    let iso = |name: &str, value: &str| format!(r#"{{"name":"{name}","value":{value}}}"#);
    let cpu = iso("resource/cpu", r#"{"limit":"1"}"#);
    let retain = iso("os/linux/seccomp-retain-set", r#"{"set":["read"]}"#);
    let remove = iso("os/linux/seccomp-remove-set", r#"{"set":["write"]}"#);
    let oom = iso("os/linux/oom-score-adj", "5");
    let shares = iso("os/linux/cpu-shares", "512");
    let selinux = iso(
        "os/linux/selinux-context",
        r#"{"user":"u","role":"r","type":"t","level":"s0"}"#,
    );
    let apparmor = iso("os/linux/apparmor-profile", r#"{"profile":"p"}"#);
    let sysctl = iso("os/unix/sysctl", r#"{"a":"1"}"#);
    let nnp = iso("os/linux/no-new-privileges", "true");
    let rows = [
        (format!("[{cpu},{cpu}]"), OK),
        (format!("[{nnp},{nnp}]"), OK),
        (format!("[{retain},{cpu}]"), OK),
        (
            format!("[{retain},{remove}]"),
            "isolators set contains incompatible types",
        ),
        (
            format!("[{remove},{retain}]"),
            "invalid app.isolators[1]: isolators set contains incompatible types",
        ),
        (
            format!("[{retain},{retain}]"),
            "isolators set contains too many instances of type os/linux/seccomp-retain-set",
        ),
        (
            format!("[{oom},{oom}]"),
            "too many instances of type os/linux/oom-score-adj",
        ),
        (
            format!("[{shares},{shares}]"),
            "too many instances of type os/linux/cpu-shares",
        ),
        (format!("[{selinux},{selinux}]"), "too many instances"),
        (format!("[{apparmor},{apparmor}]"), "too many instances"),
        (format!("[{sysctl},{sysctl}]"), "too many instances"),
        // CODE: an unknown isolator in an app is invalid.
        (
            format!(r#"[{cpu},{{"name":"example.com/gpu","value":{{"count":1}}}}]"#),
            r#"invalid app.isolators[1].name "example.com/gpu": invalid isolator"#,
        ),
        (
            r#"[{"name":"Resource/CPU","value":{}}]"#.to_owned(),
            "ACIdentifier must contain only",
        ),
        (
            r#"[{"value":{}}]"#.to_owned(),
            "missing required field app.isolators[0].name",
        ),
        (
            r#"[{"name":"resource/cpu"}]"#.to_owned(),
            "missing required field app.isolators[0].value",
        ),
    ];
    for (list, expect) in &rows {
        expect_image(&set(list), expect);
    }
}

#[test]
fn pod_isolators_keep_unknown_names_and_skip_set_rules() {
    let doc = |list: &str| pod_doc(&format!(r#","isolators":{list}"#));
    pod_table(
        &[
            (
                r#"[{"name":"example.com/gpu","value":{"z":1,"a":[1,2.5,"x",null,true],"m":{"k":"v"}}}]"#,
                OK,
            ),
            (r#"[{"name":"example.com/flag"}]"#, OK),
            (
                r#"[{"name":"os/linux/oom-score-adj","value":5},{"name":"os/linux/oom-score-adj","value":6}]"#,
                OK,
            ),
            (r#"[{"name":"resource/memory","value":{"limit":"4G"}}]"#, OK),
            // Known values are still checked at pod level.
            (
                r#"[{"name":"resource/cpu","value":{"default":true}}]"#,
                "invalid isolators[0].value.default: default must be false",
            ),
            (
                r#"[{"name":"os/linux/cpu-shares","value":1}]"#,
                "must be between 2 and 262144",
            ),
            (
                r#"[{"name":"example.com/x","value":{"a":1,"a":2}}]"#,
                r#"duplicate key "a""#,
            ),
        ],
        doc,
    );
    let pod = expect_pod(&doc(r#"[{"name":"example.com/gpu","value":{"z":1,"a":{"b":[]}}},{"name":"example.com/flag"}]"#), OK).unwrap();
    match &pod.isolators[0] {
        Isolator::Unknown { name, value } => {
            assert_eq!(name.as_str(), "example.com/gpu");
            assert!(matches!(value, Json::Object(entries) if entries[0].0 == "z"));
        }
        other => panic!("{other:?}"),
    }
    assert!(!pod.isolators[0].is_known());
    assert_eq!(
        pod.isolators[1],
        Isolator::Unknown {
            name: AcIdentifier::parse("example.com/flag").unwrap(),
            value: Json::Null
        }
    );
    // The raw value is written back in its order.
    assert!(pod.to_json().contains(r#"{"name":"example.com/gpu","value":{"z":1,"a":{"b":[]}}},{"name":"example.com/flag","value":null}"#));
    // App isolators inside a pod app follow the app rules.
    expect_pod(
        &pod_app_doc(
            r#","app":{"user":"0","group":"0","isolators":[{"name":"example.com/gpu","value":1}]}"#,
        ),
        "invalid apps[0].app.isolators[0].name",
    );
}

#[test]
fn isolator_names() {
    let names = [
        "resource/cpu",
        "resource/memory",
        "resource/block-bandwidth",
        "resource/block-iops",
        "resource/network-bandwidth",
        "os/linux/capabilities-retain-set",
        "os/linux/capabilities-remove-set",
        "os/linux/no-new-privileges",
        "os/linux/seccomp-retain-set",
        "os/linux/seccomp-remove-set",
        "os/linux/oom-score-adj",
        "os/linux/cpu-shares",
        "os/linux/selinux-context",
        "os/linux/apparmor-profile",
        "os/unix/sysctl",
    ];
    let values = [
        r#"{}"#,
        r#"{}"#,
        r#"{"default":true}"#,
        r#"{"default":true}"#,
        r#"{"default":true}"#,
        r#"{"set":["CAP_KILL"]}"#,
        r#"{"set":["CAP_KILL"]}"#,
        "true",
        r#"{"set":["read"]}"#,
        r#"{"set":["read"]}"#,
        "0",
        "2",
        r#"{"user":"u","role":"r","type":"t","level":"s0"}"#,
        r#"{"profile":"p"}"#,
        r#"{}"#,
    ];
    for (name, value) in names.iter().zip(values) {
        let m = expect_image(&one(name, value), OK).unwrap();
        let iso = &m.app.as_ref().unwrap().isolators[0];
        assert_eq!(iso.name(), *name);
        assert!(iso.is_known(), "{name}");
    }
}
