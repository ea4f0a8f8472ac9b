//! Who may send to twincast's UDP listeners (live capture over VMC, the takeover voice).
//! Anyone who can reach such a port could move the host or speak on air, so only this
//! machine may, unless the show file lists other senders.

use std::net::IpAddr;

/// The senders a listener accepts: loopback always, and the addresses listed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Senders(Vec<IpAddr>);

impl Senders {
    /// From the show file's list of addresses (`[takeover] allow`).
    pub fn parse(list: &[String]) -> Result<Self, String> {
        list.iter()
            .map(|a| {
                a.trim()
                    .parse::<IpAddr>()
                    .map_err(|_| format!("`{a}` is not an IP address"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    pub fn allows(&self, sender: IpAddr) -> bool {
        sender.is_loopback() || self.0.contains(&sender) || self.0.contains(&canonical(sender))
    }
}

/// An IPv4 address that arrived as IPv6 (`::ffff:a.b.c.d`) as the IPv4 it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_machine_and_listed_senders_get_in() {
        let none = Senders::default();
        assert!(none.allows("127.0.0.1".parse().unwrap()));
        assert!(none.allows("::1".parse().unwrap()));
        assert!(!none.allows("192.168.1.20".parse().unwrap()));
        let listed = Senders::parse(&["192.168.1.20".into()]).unwrap();
        assert!(listed.allows("192.168.1.20".parse().unwrap()));
        assert!(listed.allows("::ffff:192.168.1.20".parse().unwrap()));
        assert!(!listed.allows("192.168.1.21".parse().unwrap()));
        assert!(Senders::parse(&["studio".into()]).is_err());
    }
}
