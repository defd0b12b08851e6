//! A TCP relay in front of a server that can cut a request in the middle: the store "dies"
//! for the client while the server keeps what it had, so a test can look at it afterwards.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The relay's shared switches.
#[derive(Default)]
struct Switches {
    /// Cut the first request that carries this text, after its headers and 10 bytes of body.
    cut_on: Option<String>,
}

/// A relay on `127.0.0.1:PORT` to `upstream`; dropping it stops it.
pub struct Relay {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    switches: Arc<Mutex<Switches>>,
    dead: Dead,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Relay {
    /// Starts relaying to `upstream` (`host:port`).
    pub async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let switches = Arc::new(Mutex::new(Switches::default()));
        let dead = Dead::default();
        let upstream = upstream.to_owned();
        let (s, d) = (switches.clone(), dead.clone());
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = d.wait() => return, // the listener is dropped: connections are refused
                    accepted = listener.accept() => {
                        let Ok((client, _)) = accepted else { return };
                        let (s, d, upstream) = (s.clone(), d.clone(), upstream.clone());
                        tokio::spawn(async move {
                            if let Ok(server) = TcpStream::connect(&upstream).await {
                                pipe(client, server, s, d).await;
                            }
                        });
                    }
                }
            }
        });
        Self {
            url,
            switches,
            dead,
            task,
        }
    }

    /// From now on, the first request carrying `text` is cut after its headers and 10 bytes
    /// of its body; then every connection is closed and no new one is accepted.
    pub fn cut_on(&self, text: &str) {
        self.switches.lock().expect("lock").cut_on = Some(text.to_owned());
    }

    /// Whether the relay has cut a request.
    pub fn has_cut(&self) -> bool {
        self.dead.is_set()
    }
}

async fn pipe(client: TcpStream, server: TcpStream, switches: Arc<Mutex<Switches>>, dead: Dead) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let upward = async {
        let mut seen: Vec<u8> = Vec::new();
        let mut forwarded = 0;
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            seen.extend_from_slice(&buf[..n]);
            let cut_on = switches.lock().expect("lock").cut_on.clone();
            let cutoff = cut_on.and_then(|text| {
                let at = find(&seen, text.as_bytes())?;
                let end = find(&seen[at..], b"\r\n\r\n")? + at + 4;
                Some(end + 10)
            });
            let upto = cutoff.map_or(seen.len(), |c| c.min(seen.len()));
            if upto > forwarded {
                if server_write
                    .write_all(&seen[forwarded..upto])
                    .await
                    .is_err()
                {
                    return;
                }
                forwarded = upto;
            }
            if cutoff.is_some_and(|c| forwarded >= c) {
                dead.set();
                return;
            }
        }
    };
    let downward = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match server_read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if client_write.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        () = upward => {}
        () = downward => {}
        () = dead.wait() => {}
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A flag set once, which tasks can wait for.
#[derive(Clone)]
struct Dead(Arc<watch::Sender<bool>>);

impl Default for Dead {
    fn default() -> Self {
        Self(Arc::new(watch::channel(false).0))
    }
}

impl Dead {
    fn set(&self) {
        self.0.send_replace(true);
    }
    fn is_set(&self) -> bool {
        *self.0.borrow()
    }
    async fn wait(&self) {
        let mut rx = self.0.subscribe();
        let _ = rx.wait_for(|d| *d).await;
    }
}
