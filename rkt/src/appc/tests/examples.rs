//! The spec's example manifests (spec aci.md and pods.md), rewritten as fixtures: they parse,
//! hold what they say, and round-trip (parse → write → parse gives the same value, and writing
//! is then stable).

use super::super::{Event, ImageManifest, Isolator, PodManifest, VolumeKind};
use super::full_hex;

fn image_example() -> String {
    let id = format!("sha512-{}", full_hex());
    format!(
        r#"{{
    "acKind": "ImageManifest",
    "acVersion": "0.8.11",
    "name": "example.com/reduce-worker",
    "labels": [
        {{"name": "version", "value": "1.0.0"}},
        {{"name": "arch", "value": "amd64"}},
        {{"name": "os", "value": "linux"}}
    ],
    "app": {{
        "exec": ["/usr/bin/reduce-worker", "--quiet"],
        "user": "100",
        "group": "300",
        "supplementaryGIDs": [400, 500],
        "eventHandlers": [
            {{"exec": ["/usr/bin/data-downloader"], "name": "pre-start"}},
            {{"exec": ["/usr/bin/deregister-worker", "--verbose"], "name": "post-stop"}}
        ],
        "workingDirectory": "/opt/work",
        "environment": [
            {{"name": "REDUCE_WORKER_DEBUG", "value": "true"}}
        ],
        "isolators": [
            {{"name": "resource/cpu", "value": {{"request": "250m", "limit": "500m"}}}},
            {{"name": "resource/memory", "value": {{"request": "1G", "limit": "2G"}}}},
            {{"name": "os/linux/capabilities-retain-set", "value": {{"set": ["CAP_NET_BIND_SERVICE", "CAP_SYS_ADMIN"]}}}}
        ],
        "mountPoints": [
            {{"name": "work", "path": "/var/lib/work", "readOnly": false}}
        ],
        "ports": [
            {{"name": "health", "port": 4000, "protocol": "tcp", "socketActivated": true}}
        ],
        "userLabels": {{"component": "reduce", "tier": "batch"}},
        "userAnnotations": {{"team": "data"}}
    }},
    "dependencies": [
        {{
            "imageName": "example.com/reduce-worker-base",
            "imageID": "{id}",
            "labels": [
                {{"name": "os", "value": "linux"}},
                {{"name": "env", "value": "canary"}}
            ],
            "size": 4096
        }}
    ],
    "pathWhitelist": [
        "/etc/ca/example.com/crt",
        "/usr/bin/map-reduce-worker",
        "/opt/libs/reduce-toolkit.so",
        "/etc/reduce-worker.conf",
        "/etc/systemd/system/"
    ],
    "annotations": [
        {{"name": "authors", "value": "Carly Container <carly@example.com>, Nat Network <nat@example.com>"}},
        {{"name": "created", "value": "2014-10-27T19:32:27.67021798Z"}},
        {{"name": "documentation", "value": "https://example.com/docs"}},
        {{"name": "homepage", "value": "https://example.com"}}
    ]
}}"#
    )
}

fn pod_example() -> String {
    let (a, b, c) = (
        format!("sha512-{}", &full_hex()[..64]),
        "sha512-abcd",
        format!("sha512-{}", full_hex()),
    );
    format!(
        r#"{{
    "acVersion": "0.8.11",
    "acKind": "PodManifest",
    "apps": [
        {{
            "name": "reduce-worker",
            "image": {{
                "name": "example.com/reduce-worker",
                "id": "{a}",
                "labels": [{{"name": "version", "value": "1.0.0"}}]
            }},
            "app": {{
                "exec": ["/bin/reduce-worker", "--debug=true", "--data-dir=/mnt/foo"],
                "group": "0",
                "user": "0",
                "mountPoints": [{{"name": "work", "path": "/mnt/foo"}}]
            }},
            "mounts": [{{"volume": "worklib", "path": "/mnt/foo"}}]
        }},
        {{
            "name": "backup",
            "image": {{
                "name": "example.com/worker-backup",
                "id": "{b}",
                "labels": [{{"name": "version", "value": "1.0.0"}}]
            }},
            "app": {{
                "exec": ["/bin/reduce-backup"],
                "group": "0",
                "user": "0",
                "mountPoints": [{{"name": "backup", "path": "/mnt/bar"}}],
                "isolators": [{{"name": "resource/memory", "value": {{"limit": "1G"}}}}]
            }},
            "readOnlyRootFS": true,
            "mounts": [
                {{"volume": "worklib", "path": "/mnt/bar"}},
                {{"volume": "scratch", "path": "/tmp", "appVolume": {{"name": "scratch", "kind": "empty", "mode": "01777"}}}}
            ],
            "annotations": [{{"name": "foo", "value": "baz"}}]
        }},
        {{
            "name": "register",
            "image": {{
                "name": "example.com/reduce-worker-register",
                "id": "{c}",
                "labels": [{{"name": "version", "value": "1.0.0"}}]
            }}
        }}
    ],
    "volumes": [
        {{"name": "worklib", "kind": "host", "source": "/opt/tenant1/work", "readOnly": true, "recursive": true}},
        {{"name": "cache", "kind": "empty", "uid": 1000, "gid": 1000}}
    ],
    "isolators": [
        {{"name": "resource/memory", "value": {{"limit": "4G"}}}},
        {{"name": "example.com/gpu", "value": {{"count": 1}}}}
    ],
    "annotations": [
        {{"name": "ip-address", "value": "10.1.2.3"}}
    ],
    "ports": [
        {{"name": "ftp", "hostPort": 2121, "podPort": {{"name": "ftp", "protocol": "tcp", "port": 21}}}},
        {{"name": "health", "hostPort": 4000, "hostIP": "127.0.0.1"}}
    ],
    "userAnnotations": {{"owner": "ops"}},
    "userLabels": {{"env": "prod"}}
}}"#
    )
}

#[test]
fn image_example_parses_and_round_trips() {
    let m = ImageManifest::from_json(image_example().as_bytes()).unwrap();
    assert_eq!(m.name.as_str(), "example.com/reduce-worker");
    assert_eq!(m.labels.get("version"), Some("1.0.0"));
    assert_eq!(m.labels.get("arch"), Some("amd64"));
    let app = m.app.as_ref().unwrap();
    assert_eq!(app.exec.args(), ["/usr/bin/reduce-worker", "--quiet"]);
    assert_eq!((app.user.as_str(), app.group.as_str()), ("100", "300"));
    assert_eq!(app.supplementary_gids, [400, 500]);
    assert_eq!(
        app.event_handler(Event::PreStart).unwrap().exec.args(),
        ["/usr/bin/data-downloader"]
    );
    assert_eq!(app.working_directory.as_deref(), Some("/opt/work"));
    assert_eq!(app.environment.get("REDUCE_WORKER_DEBUG"), Some("true"));
    assert!(
        matches!(&app.isolators[0], Isolator::ResourceCpu(r) if r.limit.as_ref().unwrap().milli_value() == 500)
    );
    assert!(
        matches!(&app.isolators[1], Isolator::ResourceMemory(r) if r.limit.as_ref().unwrap().value() == 2_000_000_000)
    );
    assert!(matches!(&app.isolators[2], Isolator::CapabilitiesRetainSet(set) if set.len() == 2));
    assert_eq!(app.mount_points[0].path, "/var/lib/work");
    assert_eq!((app.ports[0].port, app.ports[0].count), (4000, 1));
    assert_eq!(app.user_labels.get("tier"), Some("batch"));
    assert_eq!(m.dependencies[0].size, Some(4096));
    assert!(m.dependencies[0].image_id.as_ref().unwrap().is_full());
    assert_eq!(m.path_whitelist.len(), 5);
    assert_eq!(m.annotations.get("homepage"), Some("https://example.com"));
    round_trip_image(&m);
}

#[test]
fn pod_example_parses_and_round_trips() {
    let p = PodManifest::from_json(pod_example().as_bytes()).unwrap();
    assert_eq!(p.apps.len(), 3);
    assert_eq!(p.apps[0].image.id.store_key(), p.apps[0].image.id.as_str());
    assert!(p.apps[1].read_only_root_fs);
    assert!(p.apps[2].app.is_none());
    let scratch = p.apps[1].mounts[1].app_volume.as_ref().unwrap();
    assert_eq!(
        scratch.kind,
        VolumeKind::Empty {
            mode: "01777".into(),
            uid: 0,
            gid: 0
        }
    );
    assert_eq!(
        p.volumes[0].kind,
        VolumeKind::Host {
            source: "/opt/tenant1/work".into()
        }
    );
    assert_eq!(
        (p.volumes[0].read_only, p.volumes[0].recursive),
        (Some(true), Some(true))
    );
    assert_eq!(
        p.volumes[1].kind,
        VolumeKind::Empty {
            mode: "0755".into(),
            uid: 1000,
            gid: 1000
        }
    );
    assert!(!p.isolators[1].is_known());
    assert_eq!(p.ports[0].pod_port.as_ref().unwrap().port, 21);
    assert_eq!(p.ports[1].host_ip.unwrap().to_string(), "127.0.0.1");
    assert_eq!(p.annotations.get("ip-address"), Some("10.1.2.3"));
    assert_eq!(p.user_labels.get("env"), Some("prod"));
    round_trip_pod(&p);
}

fn round_trip_image(m: &ImageManifest) {
    for out in [m.to_json(), m.to_json_pretty()] {
        let again = ImageManifest::from_json(out.as_bytes()).unwrap();
        assert_eq!(&again, m);
        assert_eq!(again.to_json(), m.to_json());
    }
    // The compact form is the pretty form without white space outside strings.
    let compact: serde_json::Value = serde_json::from_str(&m.to_json()).unwrap();
    let pretty: serde_json::Value = serde_json::from_str(&m.to_json_pretty()).unwrap();
    assert_eq!(compact, pretty);
}

fn round_trip_pod(p: &PodManifest) {
    for out in [p.to_json(), p.to_json_pretty()] {
        let again = PodManifest::from_json(out.as_bytes()).unwrap();
        assert_eq!(&again, p);
        assert_eq!(again.to_json(), p.to_json());
    }
}

#[test]
fn image_example_canonical_form() {
    let m = ImageManifest::from_json(image_example().as_bytes()).unwrap();
    let out = m.to_json();
    // Go's field order: acKind, acVersion, name, labels, app, annotations, dependencies,
    // pathWhitelist; inside app: exec, eventHandlers, user, group, supplementaryGIDs,
    // workingDirectory, environment, mountPoints, ports, isolators, userAnnotations, userLabels.
    let order = [
        r#"{"acKind":"ImageManifest""#,
        r#","acVersion":"0.8.11""#,
        r#","name":"example.com/reduce-worker""#,
        r#","labels":["#,
        r#","app":{"exec":["#,
        r#"],"eventHandlers":[{"name":"pre-start","exec":["/usr/bin/data-downloader"]}"#,
        r#","user":"100","group":"300","supplementaryGIDs":[400,500],"workingDirectory":"/opt/work""#,
        r#","environment":[{"name":"REDUCE_WORKER_DEBUG","value":"true"}]"#,
        r#","mountPoints":[{"name":"work","path":"/var/lib/work"}]"#,
        r#","ports":[{"name":"health","protocol":"tcp","port":4000,"count":1,"socketActivated":true}]"#,
        r#","isolators":[{"name":"resource/cpu","value":{"default":false,"request":"250m","limit":"500m"}}"#,
        r#","userAnnotations":{"team":"data"},"userLabels":{"component":"reduce","tier":"batch"}}"#,
        r#","annotations":[{"name":"authors""#,
        r#","dependencies":[{"imageName":"example.com/reduce-worker-base","imageID":"sha512-"#,
        r#""size":4096}],"pathWhitelist":["/etc/ca/example.com/crt""#,
    ];
    let mut from = 0;
    for part in order {
        let at = out[from..]
            .find(part)
            .unwrap_or_else(|| panic!("{part} not after byte {from} in {out}"));
        from += at + part.len();
    }
}

#[test]
fn pod_example_canonical_form() {
    let p = PodManifest::from_json(pod_example().as_bytes()).unwrap();
    let out = p.to_json();
    let order = [
        r#"{"acVersion":"0.8.11","acKind":"PodManifest","apps":[{"name":"reduce-worker","image":{"name":"example.com/reduce-worker","id":"sha512-"#,
        r#""labels":[{"name":"version","value":"1.0.0"}]},"app":{"exec":["#,
        r#""readOnlyRootFS":true,"mounts":[{"volume":"worklib","path":"/mnt/bar"},{"volume":"scratch","path":"/tmp","appVolume":{"name":"scratch","kind":"empty","mode":"01777","uid":0,"gid":0}}],"annotations":[{"name":"foo","value":"baz"}]}"#,
        r#"],"volumes":[{"name":"worklib","kind":"host","source":"/opt/tenant1/work","readOnly":true,"recursive":true},{"name":"cache","kind":"empty","mode":"0755","uid":1000,"gid":1000}]"#,
        r#","isolators":[{"name":"resource/memory","value":{"default":false,"limit":"4G"}},{"name":"example.com/gpu","value":{"count":1}}]"#,
        r#","annotations":[{"name":"ip-address","value":"10.1.2.3"}]"#,
        r#","ports":[{"name":"ftp","hostPort":2121,"podPort":{"name":"ftp","protocol":"tcp","port":21,"count":1,"socketActivated":false}},{"name":"health","hostPort":4000,"hostIP":"127.0.0.1"}]"#,
        r#","userAnnotations":{"owner":"ops"},"userLabels":{"env":"prod"}}"#,
    ];
    let mut from = 0;
    for part in order {
        let at = out[from..]
            .find(part)
            .unwrap_or_else(|| panic!("{part} not after byte {from} in {out}"));
        from += at + part.len();
    }
    assert_eq!(from, out.len());
}
