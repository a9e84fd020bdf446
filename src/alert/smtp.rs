//! E-mail over SMTP for `mailto://` and `mailtos://`, in Apprise's URL
//! syntax: `mailto[s]://[user:pass@]host[:port][/to@addr…]?to=&from=&smtp=
//! &name=&mode=ssl|starttls&verify=no`. `host` is the SMTP server unless
//! `smtp=` names one. `mailto://` speaks plain SMTP (port 25) and sends no
//! password; `mailtos://` upgrades with STARTTLS (port 587) or, with
//! `mode=ssl` or port 465, starts in TLS. `verify=no` accepts a
//! self-signed server certificate (a homelab relay).

use super::{Alert, AlertError, Delivered};
use crate::config::NotifyUrl;
use base64::Engine;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

/// One message to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Mail {
    /// SMTP server and port.
    pub server: (String, u16),
    /// `None` plain, `Some(true)` implicit TLS, `Some(false)` STARTTLS.
    pub tls: Option<bool>,
    /// Check the server's certificate.
    pub verify: bool,
    /// AUTH PLAIN user and password.
    pub login: Option<(String, String)>,
    /// Envelope and `From:` address.
    pub from: String,
    /// Display name of the sender.
    pub name: String,
    /// Recipients.
    pub to: Vec<String>,
    /// The message: headers and body, CRLF line ends, not dot-stuffed.
    pub text: String,
}

/// The mail that tells `alert` to the recipients `u` names.
pub fn mail(u: &NotifyUrl, alert: &Alert) -> Result<Mail, AlertError> {
    let q = |k: &str| u.query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let secure = u.scheme == "mailtos";
    let (host, port) = split_port(&u.host);
    let implicit = q("mode").is_some_and(|m| m == "ssl") || port == Some(465);
    let server_host = q("smtp").unwrap_or(host.clone());
    let default_port = match (secure, implicit) {
        (false, _) => 25,
        (true, true) => 465,
        (true, false) => 587,
    };
    let (user, pass) = match u.userinfo.as_deref().map(|i| i.split_once(':')) {
        Some(Some((user, pass))) => (Some(user.to_owned()), Some(pass.to_owned())),
        Some(None) => (u.userinfo.clone(), None),
        None => (None, None),
    };
    let address = |user: &str| match user.contains('@') {
        true => user.to_owned(),
        false => format!("{user}@{host}"),
    };
    let mut to: Vec<String> = u.path.iter().filter(|p| p.contains('@')).cloned().collect();
    to.extend(
        q("to")
            .unwrap_or_default()
            .split([',', ';', ' '])
            .filter(|a| a.contains('@'))
            .map(str::to_owned),
    );
    if to.is_empty() {
        to.extend(user.as_deref().map(address));
    }
    if to.is_empty() {
        return Err(AlertError::Url(
            "`mailto://` needs a recipient: ?to=you@example.com".into(),
        ));
    }
    let login = match (user, pass) {
        (Some(_), Some(_)) if !secure => {
            return Err(AlertError::Url(
                "`mailto://` sends no password over plain SMTP; use `mailtos://`".into(),
            ));
        }
        (Some(u), Some(p)) => Some((u, p)),
        _ => None,
    };
    let from = q("from").unwrap_or_else(|| match &login {
        Some((user, _)) => address(user),
        None => format!("tend@{host}"),
    });
    let name = q("name").unwrap_or_else(|| "tend".into());
    let text = message(&name, &from, &to, alert);
    Ok(Mail {
        server: (server_host, port.unwrap_or(default_port)),
        tls: secure.then_some(implicit),
        verify: q("verify").is_none_or(|v| !matches!(v.as_str(), "no" | "false" | "0")),
        login,
        from,
        name,
        to,
        text,
    })
}

fn split_port(host: &str) -> (String, Option<u16>) {
    match host.rsplit_once(':') {
        Some((h, p)) if p.parse::<u16>().is_ok() => (h.to_owned(), p.parse().ok()),
        _ => (host.to_owned(), None),
    }
}

/// Headers and body of the message.
fn message(name: &str, from: &str, to: &[String], alert: &Alert) -> String {
    let subject = alert.title().replace(['\r', '\n'], " ");
    let body = alert
        .text(20_000)
        .replace("\r\n", "\n")
        .replace('\n', "\r\n");
    let date = chrono::Utc::now().to_rfc2822();
    let id = format!(
        "<{}.{}@tend>",
        chrono::Utc::now().timestamp_micros(),
        std::process::id()
    );
    format!(
        "From: {name} <{from}>\r\nTo: {}\r\nSubject: {subject}\r\nDate: {date}\r\nMessage-ID: {id}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n",
        to.join(", ")
    )
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Sends `m`; a `4xx` answer or a broken connection is worth a retry
/// (`Transport`), a `5xx` is not (`Refused`).
pub async fn send(m: &Mail) -> Result<Delivered, AlertError> {
    let (host, port) = (&m.server.0, m.server.1);
    let broken = |cause: String| AlertError::Transport {
        url: format!("smtp://{host}:{port}"),
        cause,
    };
    let tcp = tokio::time::timeout(
        super::ATTEMPT_TIMEOUT,
        tokio::net::TcpStream::connect((host.as_str(), port)),
    )
    .await
    .map_err(|_| broken("connect timed out".into()))?
    .map_err(|e| broken(e.to_string()))?;
    let talk = async {
        let mut io: Box<dyn Io> = match m.tls {
            Some(true) => Box::new(tls(tcp, host, m.verify).await?),
            _ => Box::new(tcp),
        };
        let mut s = Session::new(&mut io);
        s.expect(None, 220).await?;
        s.expect(Some("EHLO tend"), 250).await?;
        if m.tls == Some(false) {
            s.expect(Some("STARTTLS"), 220).await?;
            drop(s);
            io = Box::new(tls(io, host, m.verify).await?);
            s = Session::new(&mut io);
            s.expect(Some("EHLO tend"), 250).await?;
        }
        if let Some((user, pass)) = &m.login {
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{pass}"));
            s.expect(Some(&format!("AUTH PLAIN {token}")), 235).await?;
        }
        s.expect(Some(&format!("MAIL FROM:<{}>", m.from)), 250)
            .await?;
        for to in &m.to {
            s.expect(Some(&format!("RCPT TO:<{to}>")), 250).await?;
        }
        s.expect(Some("DATA"), 354).await?;
        let mut data = String::with_capacity(m.text.len() + 16);
        for line in m.text.split_inclusive("\r\n") {
            if line.starts_with('.') {
                data.push('.');
            }
            data.push_str(line);
        }
        data.push('.');
        let reply = s.expect(Some(&data), 250).await?;
        let _ = s.send("QUIT").await;
        Ok(Delivered {
            status: 250,
            body: reply,
            retry_after: None,
        })
    };
    match tokio::time::timeout(super::ATTEMPT_TIMEOUT * 2, talk).await {
        Ok(result) => result.map_err(|e| match e {
            Failure::Io(cause) => broken(cause),
            Failure::Reply(code, text) if code < 500 => broken(format!("answered {code} {text}")),
            Failure::Reply(code, text) => AlertError::Refused(format!("{code} {text}")),
        }),
        Err(_) => Err(broken("the server took too long".into())),
    }
}

enum Failure {
    Io(String),
    Reply(u16, String),
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Failure {
        Failure::Io(e.to_string())
    }
}

struct Session<'a> {
    io: BufReader<&'a mut Box<dyn Io>>,
}

impl<'a> Session<'a> {
    fn new(io: &'a mut Box<dyn Io>) -> Session<'a> {
        Session {
            io: BufReader::new(io),
        }
    }

    async fn send(&mut self, line: &str) -> Result<(), Failure> {
        let w = self.io.get_mut();
        w.write_all(line.as_bytes()).await?;
        w.write_all(b"\r\n").await?;
        w.flush().await?;
        Ok(())
    }

    /// Sends `line` (if any) and reads the reply; it must be `code`.
    async fn expect(&mut self, line: Option<&str>, code: u16) -> Result<String, Failure> {
        if let Some(line) = line {
            self.send(line).await?;
        }
        let mut text = String::new();
        for _ in 0..100 {
            let mut l = String::new();
            if self.io.read_line(&mut l).await? == 0 {
                return Err(Failure::Io("the server closed the connection".into()));
            }
            let got: u16 = l.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
            text.push_str(l.get(4..).unwrap_or("").trim_end());
            if l.as_bytes().get(3) != Some(&b'-') {
                return match got == code || (code == 250 && got == 251) {
                    true => Ok(text),
                    false => Err(Failure::Reply(got, super::cut(&text, 200))),
                };
            }
            text.push(' ');
        }
        Err(Failure::Io("the server's reply never ended".into()))
    }
}

async fn tls<S: AsyncRead + AsyncWrite + Unpin>(
    io: S,
    host: &str,
    verify: bool,
) -> Result<tokio_rustls::client::TlsStream<S>, Failure> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = match verify {
        true => {
            use rustls_platform_verifier::ConfigVerifierExt;
            rustls::ClientConfig::with_platform_verifier()
                .map_err(|e| Failure::Io(e.to_string()))?
        }
        false => rustls::ClientConfig::builder()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(super::trust::AnyCert::default()))
            .with_no_client_auth(),
    };
    let name = rustls::pki_types::ServerName::try_from(host.to_owned())
        .map_err(|e| Failure::Io(e.to_string()))?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let timed = tokio::time::timeout(Duration::from_secs(10), connector.connect(name, io));
    match timed.await {
        Ok(stream) => Ok(stream?),
        Err(_) => Err(Failure::Io("TLS handshake timed out".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EventKind;

    fn parsed(url: &str) -> Result<Mail, AlertError> {
        let alert = Alert {
            summary: "run 1 failed\n.hidden dot line".into(),
            ..crate::model::alert::sample::alert(EventKind::Failure)
        };
        mail(&crate::config::notify_url::parse(url).unwrap(), &alert)
    }

    #[test]
    fn urls_name_server_ports_recipients_and_sender() {
        let m = parsed("mailto://relay.lan/ops@example.com?to=a@x.y;b@x.y").unwrap();
        assert_eq!(m.server, ("relay.lan".into(), 25));
        assert_eq!((m.tls, m.verify, m.login.clone()), (None, true, None));
        assert_eq!(m.to, ["ops@example.com", "a@x.y", "b@x.y"]);
        assert_eq!(m.from, "tend@relay.lan");
        assert!(m.text.contains("Subject: tend: backup failed\r\n"));
        assert!(m.text.contains("\r\n.hidden dot line"));
        let m = parsed("mailtos://me:pw@example.com?smtp=smtp.example.com").unwrap();
        assert_eq!(m.server, ("smtp.example.com".into(), 587));
        assert_eq!(m.tls, Some(false));
        assert_eq!(m.to, ["me@example.com"]);
        assert_eq!(m.from, "me@example.com");
        assert_eq!(m.login, Some(("me".into(), "pw".into())));
        let m = parsed("mailtos://me:pw@mail.lan:465?to=x@y.z&verify=no").unwrap();
        assert_eq!((m.server.1, m.tls, m.verify), (465, Some(true), false));
        assert!(matches!(
            parsed("mailto://relay.lan"),
            Err(AlertError::Url(_))
        ));
        assert!(matches!(
            parsed("mailto://me:pw@relay.lan?to=a@b.c"),
            Err(AlertError::Url(_))
        ));
    }
}
