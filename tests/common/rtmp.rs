//! A real RTMP server (nginx with its RTMP module) on loopback.

use super::free_port;
use super::process::Stopped;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// nginx with the RTMP module, on loopback, recording every stream it receives.
pub struct RtmpServer {
    pub port: u16,
    pub dir: PathBuf,
    child: Stopped,
}

impl RtmpServer {
    pub fn start(dir: &Path) -> Self {
        Self::start_on(dir, free_port())
    }

    pub fn start_on(dir: &Path, port: u16) -> Self {
        let module = [
            "/usr/lib/nginx/modules/ngx_rtmp_module.so",
            "/usr/share/nginx/modules/ngx_rtmp_module.so",
        ]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("nginx RTMP module not installed: run scripts/install-deps.sh");
        std::fs::create_dir_all(dir.join("rec")).unwrap();
        std::fs::create_dir_all(dir.join("logs")).unwrap();
        let conf = format!(
            "load_module {module};\n\
             daemon off;\nmaster_process off;\nworker_processes 1;\n\
             error_log {dir}/logs/error.log warn;\npid {dir}/nginx.pid;\n\
             events {{ worker_connections 64; }}\n\
             rtmp {{\n  server {{\n    listen 127.0.0.1:{port};\n    chunk_size 4096;\n\
             application live {{\n      live on;\n      record all;\n      record_path {dir}/rec;\n\
             record_unique off;\n    }}\n  }}\n}}\n",
            dir = dir.display()
        );
        std::fs::write(dir.join("nginx.conf"), conf).unwrap();
        let child = Stopped::new(
            Command::new("nginx")
                .arg("-p")
                .arg(dir)
                .arg("-c")
                .arg(dir.join("nginx.conf"))
                .arg("-e")
                .arg(dir.join("logs/error.log"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("starting nginx (install it with scripts/install-deps.sh)"),
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "nginx did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            port,
            dir: dir.to_path_buf(),
            child,
        }
    }

    pub fn url(&self, key: &str) -> String {
        format!("rtmp://127.0.0.1:{}/live/{key}", self.port)
    }

    pub fn recording(&self, key: &str) -> PathBuf {
        self.dir.join("rec").join(format!("{key}.flv"))
    }

    /// Kills it (SIGKILL: its connections just die).
    pub fn stop(&mut self) {
        self.child.stop();
    }
}
