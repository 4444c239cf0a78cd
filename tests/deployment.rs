//! The deployment files (docker/Dockerfile, docker/compose.yaml, .dockerignore),
//! checked as far as a machine without a container runtime can: this workplace
//! cannot pull base images, so the image itself is not built here. What is checked
//! is what the files promise about this binary: every `CLAIMBRIDGE_*` variable they
//! set is a configuration key, together their values are a configuration the
//! binary accepts (authorization on), the runtime stage runs as a non-root user,
//! the exposed ports are the configured ones, and the compose healthcheck, run as
//! written, passes against a real server.

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use claimbridge::auth::AuthMode;
use claimbridge::config::{reference, Settings};
use yaml_rust2::{Yaml, YamlLoader};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{ROOT}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// One instruction of a Dockerfile: its keyword (upper case) and arguments, with
/// continuation lines joined and comments dropped.
struct Instruction {
    keyword: String,
    arguments: String,
}

fn instructions(dockerfile: &str) -> Vec<Instruction> {
    let mut joined = Vec::new();
    let mut current = String::new();
    for line in dockerfile.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(start) => current.push_str(&format!("{start} ")),
            None => {
                current.push_str(trimmed);
                joined.push(std::mem::take(&mut current));
            }
        }
    }
    joined
        .into_iter()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let (keyword, arguments) = line.split_once(char::is_whitespace).unwrap_or((&line, ""));
            Instruction {
                keyword: keyword.to_uppercase(),
                arguments: arguments.trim().to_owned(),
            }
        })
        .collect()
}

/// The instructions of the last stage: the image that runs.
fn runtime_stage(dockerfile: &str) -> Vec<Instruction> {
    let all = instructions(dockerfile);
    let last_from = all
        .iter()
        .rposition(|instruction| instruction.keyword == "FROM")
        .expect("a FROM");
    all.into_iter().skip(last_from).collect()
}

/// The `ENV` of a stage, `KEY=value` pairs.
fn environment(stage: &[Instruction]) -> BTreeMap<String, String> {
    stage
        .iter()
        .filter(|instruction| instruction.keyword == "ENV")
        .flat_map(|instruction| instruction.arguments.split_whitespace())
        .map(|pair| {
            let (key, value) = pair.split_once('=').expect("ENV KEY=value");
            (key.to_owned(), value.to_owned())
        })
        .collect()
}

fn compose() -> Yaml {
    YamlLoader::load_from_str(&read("docker/compose.yaml"))
        .expect("compose.yaml is YAML")
        .remove(0)
}

fn server_service(compose: &Yaml) -> &Yaml {
    &compose["services"]["claimbridge"]
}

/// The server's environment in the compose file, with each `${VAR:?message}`
/// interpolation replaced by a value such as a deployment's docker/.env gives.
fn compose_environment(compose: &Yaml) -> BTreeMap<String, String> {
    let stand_ins = [
        ("POSTGRES_PASSWORD", "0123456789abcdef"),
        // Base64 of 32 bytes, as `openssl rand -base64 32` prints.
        (
            "CLAIMBRIDGE_SECRETS_KEY",
            "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=",
        ),
    ];
    server_service(compose)["environment"]
        .as_hash()
        .expect("the server's environment is a map")
        .iter()
        .map(|(key, value)| {
            let mut value = value.as_str().expect("a string value").to_owned();
            while let Some(start) = value.find("${") {
                let end = start + value[start..].find('}').expect("a closed interpolation");
                let name = value[start + 2..end].split([':', '-', '?']).next().unwrap();
                let (_, stand_in) = stand_ins
                    .iter()
                    .find(|(known, _)| *known == name)
                    .unwrap_or_else(|| panic!("no stand-in for ${{{name}}}"));
                value.replace_range(start..=end, stand_in);
            }
            (key.as_str().unwrap().to_owned(), value)
        })
        .collect()
}

/// Every `CLAIMBRIDGE_…` word in `text`.
fn claimbridge_variables(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| word.starts_with("CLAIMBRIDGE_"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_variable_the_deployment_files_name_is_a_configuration_key() {
    let keys: Vec<String> = reference::entries().into_iter().map(|entry| entry.env).collect();
    for path in ["docker/Dockerfile", "docker/compose.yaml"] {
        let variables = claimbridge_variables(&read(path));
        assert!(!variables.is_empty(), "{path} configures the server");
        for variable in variables {
            assert!(
                keys.contains(&variable),
                "{path} names {variable}, which is no configuration key (see docs/configuration.md)"
            );
        }
    }
}

/// The image's defaults with the compose file's environment on top, as the server
/// in the compose file reads them: a configuration the binary accepts, on
/// PostgreSQL and Redis, listening on every interface with authorization on.
// figment's Jail reports failures as figment::Error, which clippy finds large.
#[allow(clippy::result_large_err)]
#[test]
fn the_compose_servers_configuration_is_accepted_with_authorization_on() {
    let image = environment(&runtime_stage(&read("docker/Dockerfile")));
    let compose = compose_environment(&compose());
    figment::Jail::expect_with(|jail| {
        for (key, value) in image.iter().chain(&compose) {
            jail.set_env(key, value);
        }
        let settings = Settings::load(None).map_err(|e| e.to_string())?;
        assert_eq!(settings.auth, AuthMode::Required);
        assert!(
            settings.bind.ip().is_unspecified(),
            "reachable from outside the container"
        );
        assert!(settings.database_url.starts_with("postgres://"));
        assert!(settings.redis_url.is_some());
        assert!(
            settings.secrets_key.is_some(),
            "PostgreSQL with authorization needs the secrets key"
        );
        let mllp = settings.mllp_address().map_err(|e| e.to_string())?;
        assert!(mllp.is_some_and(|address| address.ip().is_unspecified()));
        Ok(())
    });
}

#[test]
fn the_runtime_image_runs_as_a_non_root_user_and_exposes_the_configured_ports() {
    let stage = runtime_stage(&read("docker/Dockerfile"));
    let users: Vec<&str> = stage
        .iter()
        .filter(|instruction| instruction.keyword == "USER")
        .map(|instruction| instruction.arguments.as_str())
        .collect();
    let user = users.last().expect("the runtime stage sets a USER");
    let name = user.split(':').next().unwrap();
    assert!(!matches!(name, "root" | "0" | ""), "USER {user}");
    assert!(
        name.parse::<u32>().is_ok(),
        "a numeric USER ({user}) lets a runtime check it is not root"
    );

    let env = environment(&stage);
    let port = |key: &str| {
        env[key]
            .parse::<SocketAddr>()
            .unwrap_or_else(|e| panic!("{key}: {e}"))
            .port()
    };
    let mut configured = vec![port("CLAIMBRIDGE_BIND"), port("CLAIMBRIDGE_MLLP_BIND")];
    let mut exposed: Vec<u16> = stage
        .iter()
        .filter(|instruction| instruction.keyword == "EXPOSE")
        .flat_map(|instruction| instruction.arguments.split_whitespace())
        .map(|port| port.trim_end_matches("/tcp").parse().expect("a port"))
        .collect();
    configured.sort();
    exposed.sort();
    assert_eq!(
        exposed, configured,
        "EXPOSE the HTTP and MLLP ports the image binds"
    );

    // The compose file publishes the same ports.
    let published: Vec<String> = server_service(&compose())["ports"]
        .as_vec()
        .expect("published ports")
        .iter()
        .map(|port| port.as_str().unwrap().to_owned())
        .collect();
    for port in configured {
        assert!(
            published
                .iter()
                .any(|published| published.ends_with(&format!(":{port}"))),
            "compose publishes port {port}: {published:?}"
        );
    }
}

#[test]
fn secrets_are_never_written_in_the_deployment_files() {
    let compose = compose();
    let environment = server_service(&compose)["environment"].as_hash().unwrap();
    let secret = environment[&Yaml::String("CLAIMBRIDGE_SECRETS_KEY".into())]
        .as_str()
        .expect("the compose server has a secrets key");
    assert!(
        secret.starts_with("${CLAIMBRIDGE_SECRETS_KEY:?"),
        "the secrets key comes from docker/.env, and compose refuses to start without it: {secret}"
    );
    let password = compose["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"]
        .as_str()
        .unwrap();
    assert!(password.starts_with("${POSTGRES_PASSWORD:?"), "{password}");
    let dockerfile = read("docker/Dockerfile");
    assert!(
        !dockerfile.contains("SECRETS_KEY"),
        "no key is baked into the image"
    );

    // docker/.env holds them: kept out of git and out of the build context.
    for (path, ignored) in [(".gitignore", "docker/.env"), (".dockerignore", "docker/.env")] {
        assert!(
            read(path).lines().any(|line| line.trim() == ignored),
            "{path} lists {ignored}"
        );
    }
    let dockerignore = read(".dockerignore");
    for ignored in ["target/", ".git/", "*.secrets-key", "bootstrap-admin.json"] {
        assert!(
            dockerignore.lines().any(|line| line.trim() == ignored),
            ".dockerignore lists {ignored}"
        );
    }
}

#[test]
fn the_server_waits_for_healthy_dependencies_and_every_service_is_checked() {
    let compose = compose();
    let services = compose["services"].as_hash().expect("services");
    for (name, service) in services {
        assert!(
            !service["healthcheck"]["test"].is_badvalue(),
            "service {} has a healthcheck",
            name.as_str().unwrap()
        );
    }
    let depends_on = server_service(&compose)["depends_on"]
        .as_hash()
        .expect("the server depends on its database and Redis");
    for dependency in ["postgres", "redis"] {
        assert_eq!(
            depends_on[&Yaml::String(dependency.into())]["condition"].as_str(),
            Some("service_healthy"),
            "the server starts once {dependency} is healthy"
        );
    }
    let build = &server_service(&compose)["build"];
    let dockerfile = format!(
        "{ROOT}/docker/{}/{}",
        build["context"].as_str().unwrap(),
        build["dockerfile"].as_str().unwrap()
    );
    assert!(std::path::Path::new(&dockerfile).exists(), "{dockerfile}");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Stops the server when the test ends, passed or not.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The compose healthcheck's command, run as written (the image's port swapped for
/// the test server's), passes against a serving node and fails while none listens.
#[test]
fn the_compose_healthcheck_asks_the_servers_readiness_probe() {
    let compose = compose();
    let test = server_service(&compose)["healthcheck"]["test"]
        .as_vec()
        .expect("the healthcheck is an exec form");
    let words: Vec<&str> = test.iter().map(|word| word.as_str().unwrap()).collect();
    assert_eq!(words[..3], ["CMD", "bash", "-c"], "{words:?}");
    let script = words[3];
    assert!(script.contains("GET /health/ready "), "{script}");
    let image_port = environment(&runtime_stage(&read("docker/Dockerfile")))["CLAIMBRIDGE_BIND"]
        .parse::<SocketAddr>()
        .unwrap()
        .port();
    let target = format!("/dev/tcp/127.0.0.1/{image_port}");
    assert!(
        script.contains(&target),
        "the probe asks the port the image binds: {script}"
    );

    let dir = tempfile::tempdir().unwrap();
    let (port, mllp_port) = (free_port(), free_port());
    let probe = |port: u16| {
        Command::new("bash")
            .args([
                "-c",
                &script.replace(&target, &format!("/dev/tcp/127.0.0.1/{port}")),
            ])
            .stderr(Stdio::null())
            .status()
            .expect("bash runs")
            .success()
    };
    assert!(!probe(port), "no server listens yet");
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_claimbridge"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "warn")
            .env(
                "CLAIMBRIDGE_DATABASE_URL",
                format!("sqlite://{}/claimbridge.db", dir.path().display()),
            )
            .env("CLAIMBRIDGE_BIND", format!("127.0.0.1:{port}"))
            .env("CLAIMBRIDGE_MLLP_BIND", format!("127.0.0.1:{mllp_port}"))
            .arg("serve")
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    while !probe(port) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the healthcheck never passed against a serving node"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
