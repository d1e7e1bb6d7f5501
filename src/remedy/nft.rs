//! Our nftables table and the files nftables.service loads at boot.

pub const FAMILY: &str = "ip";
pub const NAME: &str = "lbdoctor";
pub const NFT_CONF: &str = "/etc/nftables.conf";
/// RHEL/Rocky/Alma/Fedora's nftables.service runs `nft -f /etc/sysconfig/nftables.conf`; the
/// package ships it with commented-out includes and the advice to append commands to it.
pub const RHEL_NFT_CONF: &str = "/etc/sysconfig/nftables.conf";
pub const PREROUTING_HEAD: &str = "type nat hook prerouting priority dstnat; policy accept;";
pub const INPUT_HEAD: &str = "type filter hook input priority filter; policy accept;";

/// The file nftables.service loads at boot, on the RHEL family or elsewhere.
pub fn boot_conf(rhel_like: bool) -> &'static str {
    if rhel_like {
        RHEL_NFT_CONF
    } else {
        NFT_CONF
    }
}

/// The incident's `iptables -t nat -A PREROUTING -d VIP -j REDIRECT`, in our nft table.
pub fn redirect_commands(vip: std::net::Ipv4Addr) -> Vec<String> {
    vec![
        format!("nft add table {FAMILY} {NAME}"),
        format!("nft 'add chain {FAMILY} {NAME} prerouting {{ {PREROUTING_HEAD} }}'"),
        format!("nft add rule {FAMILY} {NAME} prerouting ip daddr {vip} redirect"),
    ]
}
