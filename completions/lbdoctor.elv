
use builtin;
use str;

set edit:completion:arg-completer[lbdoctor] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'lbdoctor'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'lbdoctor'= {
            cand --format 'Output format (sarif: lint only)'
            cand --color 'When to color human output; auto honors NO_COLOR and is off when stdout is not a terminal'
            cand --fail-on 'Lowest severity that makes the exit status 1'
            cand -q 'Print findings only: no summaries, no progress'
            cand --quiet 'Print findings only: no summaries, no progress'
            cand -v 'More detail (repeat for more)'
            cand --verbose 'More detail (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand detect 'Tell DSR from NAT from a proxy by watching the wire (live or from a capture file)'
            cand lint 'Lint keepalived.conf files: what keepalived really reads, and what `keepalived -t` misses'
            cand state 'Read the IPVS table (ipvsadm -Ln view) and check it against keepalived.conf'
            cand audit 'Audit real servers and directors over SSH; --fix applies and persists the repair'
            cand check 'Test each real server''s VIP path the way an IPVS director in DR mode reaches it'
            cand explain 'Explain a check: what it finds, why it matters, how to fix it'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'lbdoctor;detect'= {
            cand -i 'Interface to capture on (default: the interface that routes to the VIP)'
            cand --interface 'Interface to capture on (default: the interface that routes to the VIP)'
            cand -r 'Read packets from a pcap or pcapng file instead of capturing live'
            cand --read 'Read packets from a pcap or pcapng file instead of capturing live'
            cand -w 'Save the live capture to a pcap file as evidence'
            cand --write 'Save the live capture to a pcap file as evidence'
            cand -d 'How long to capture live, in seconds'
            cand --duration 'How long to capture live, in seconds'
            cand -c 'Stop after this many packets'
            cand --count 'Stop after this many packets'
            cand --probes 'Number of TCP connection probes to send to VIP:PORT during a live capture'
            cand --max-flows 'Most flows tracked at once; older ones are evicted and counted (bounds memory under floods)'
            cand --format 'Output format (sarif: lint only)'
            cand --color 'When to color human output; auto honors NO_COLOR and is off when stdout is not a terminal'
            cand --fail-on 'Lowest severity that makes the exit status 1'
            cand --no-probe 'Only listen; send no probes'
            cand -q 'Print findings only: no summaries, no progress'
            cand --quiet 'Print findings only: no summaries, no progress'
            cand -v 'More detail (repeat for more)'
            cand --verbose 'More detail (repeat for more)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'lbdoctor;lint'= {
            cand --select 'Only report these checks (comma-separated ids or prefixes, e.g. LB001,LB1)'
            cand --ignore 'Do not report these checks (comma-separated ids or prefixes)'
            cand --director-addr 'Addresses of the director itself, to find real servers that are the director (ping-pong)'
            cand --config-id 'keepalived''s config id (its -i), selecting `@id` conditional lines'
            cand --model 'The effective configuration in --format json: auto = full up to 2000 virtual servers, else a summary (counts and VRRP instances); full; summary; none'
            cand --format 'Output format (sarif: lint only)'
            cand --color 'When to color human output; auto honors NO_COLOR and is off when stdout is not a terminal'
            cand --fail-on 'Lowest severity that makes the exit status 1'
            cand -q 'Print findings only: no summaries, no progress'
            cand --quiet 'Print findings only: no summaries, no progress'
            cand -v 'More detail (repeat for more)'
            cand --verbose 'More detail (repeat for more)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'lbdoctor;state'= {
            cand --host 'Read the IPVS state of this director over SSH'
            cand --from 'Read saved output instead: ipvsadm -Ln [--stats|--rate], ipvsadm -Lnc, ipvsadm-save -n, or /proc/net/ip_vs* files'
            cand --config 'keepalived.conf to compare the kernel''s table with'
            cand --kernel 'The director''s kernel release (`uname -r`) for --from files: since Linux 4.8 SYN_RECV counts as active (--host reads it itself)'
            cand --known-hosts 'known_hosts file to verify host keys against (default: ~/.ssh/known_hosts)'
            cand --ssh-config 'ssh_config file for host aliases (default: ~/.ssh/config)'
            cand --identity 'Private key file (default: ssh-agent, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa)'
            cand --user 'SSH user (default: from ssh_config, else the current user)'
            cand --connect-timeout 'Seconds to wait for a host to connect and answer'
            cand --format 'Output format (sarif: lint only)'
            cand --color 'When to color human output; auto honors NO_COLOR and is off when stdout is not a terminal'
            cand --fail-on 'Lowest severity that makes the exit status 1'
            cand --accept-new 'Accept and record the host key of a host not yet in known_hosts (like StrictHostKeyChecking=accept-new)'
            cand -q 'Print findings only: no summaries, no progress'
            cand --quiet 'Print findings only: no summaries, no progress'
            cand -v 'More detail (repeat for more)'
            cand --verbose 'More detail (repeat for more)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'lbdoctor;audit'= {
            cand --host 'Host to audit over SSH (repeatable); `localhost` audits this machine without SSH'
            cand --inventory 'Audit the hosts of this Ansible inventory (INI or YAML); directors are the hosts in groups named like director/lb/keepalived/lvs (see docs/audit.md)'
            cand --limit 'With --inventory: only these groups or hosts (comma-separated), as ansible --limit'
            cand --config 'Audit every real server (and, with --role director, the director) named in this keepalived.conf'
            cand --vip 'The VIP (and port, default 80) the hosts serve'
            cand --lvs-method 'The forwarding method when there is no --config: DR (default) or TUN (IPIP real servers)'
            cand --role 'What the hosts are'
            cand --deny-direct 'Close the service port on the real IPs to this CIDR (SSH stays open)'
            cand --allow-direct 'With --deny-direct: sources that keep direct access, the directors whose health checks connect to the real IPs (repeatable, comma-separated IPs or CIDRs); directors audited in the same run are spared without being named'
            cand --rollback-timeout 'Seconds a firewall or sysctl change waits for a fresh SSH session before it rolls back'
            cand --save-facts 'Save each host''s gathered facts to this file (JSON) for offline audits'
            cand --facts 'Audit saved facts instead of live hosts (repeatable)'
            cand --jobs 'Hosts audited at once'
            cand --known-hosts 'known_hosts file to verify host keys against (default: ~/.ssh/known_hosts)'
            cand --ssh-config 'ssh_config file for host aliases (default: ~/.ssh/config)'
            cand --identity 'Private key file (default: ssh-agent, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa)'
            cand --user 'SSH user (default: from ssh_config, else the current user)'
            cand --connect-timeout 'Seconds to wait for a host to connect and answer'
            cand --format 'Output format (sarif: lint only)'
            cand --color 'When to color human output; auto honors NO_COLOR and is off when stdout is not a terminal'
            cand --fail-on 'Lowest severity that makes the exit status 1'
            cand --local 'Audit this machine without SSH'
            cand --fix 'Apply and persist the repair after showing the plan'
            cand --dry-run 'With --fix: print the plan (commands and diffs) and change nothing'
            cand --yes 'With --fix: do not ask for confirmation'
            cand --install-packages 'With --fix: where no service restores firewall rules at boot, install the distribution''s (iptables-persistent) instead of lbdoctor''s own unit; the plan shows apt''s simulation, and nothing is done if apt would remove a package'
            cand --accept-new 'Accept and record the host key of a host not yet in known_hosts (like StrictHostKeyChecking=accept-new)'
            cand -q 'Print findings only: no summaries, no progress'
            cand --quiet 'Print findings only: no summaries, no progress'
            cand -v 'More detail (repeat for more)'
            cand --verbose 'More detail (repeat for more)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'lbdoctor;check'= {
            cand --rs 'A real server''s own IP address (repeatable)'
            cand --config 'Test every real server of the VIP''s virtual_server(s) in this keepalived.conf'
            cand -i 'Send on this interface (default: the one the kernel routes each real server through)'
            cand --interface 'Send on this interface (default: the one the kernel routes each real server through)'
            cand --timeout 'Seconds to wait for the answers (and as long again for ARP when a MAC is not known)'
            cand --format 'Output format (sarif: lint only)'
            cand --color 'When to color human output; auto honors NO_COLOR and is off when stdout is not a terminal'
            cand --fail-on 'Lowest severity that makes the exit status 1'
            cand -q 'Print findings only: no summaries, no progress'
            cand --quiet 'Print findings only: no summaries, no progress'
            cand -v 'More detail (repeat for more)'
            cand --verbose 'More detail (repeat for more)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'lbdoctor;explain'= {
            cand --format 'Output format (sarif: lint only)'
            cand --color 'When to color human output; auto honors NO_COLOR and is off when stdout is not a terminal'
            cand --fail-on 'Lowest severity that makes the exit status 1'
            cand -q 'Print findings only: no summaries, no progress'
            cand --quiet 'Print findings only: no summaries, no progress'
            cand -v 'More detail (repeat for more)'
            cand --verbose 'More detail (repeat for more)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'lbdoctor;help'= {
            cand detect 'Tell DSR from NAT from a proxy by watching the wire (live or from a capture file)'
            cand lint 'Lint keepalived.conf files: what keepalived really reads, and what `keepalived -t` misses'
            cand state 'Read the IPVS table (ipvsadm -Ln view) and check it against keepalived.conf'
            cand audit 'Audit real servers and directors over SSH; --fix applies and persists the repair'
            cand check 'Test each real server''s VIP path the way an IPVS director in DR mode reaches it'
            cand explain 'Explain a check: what it finds, why it matters, how to fix it'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'lbdoctor;help;detect'= {
        }
        &'lbdoctor;help;lint'= {
        }
        &'lbdoctor;help;state'= {
        }
        &'lbdoctor;help;audit'= {
        }
        &'lbdoctor;help;check'= {
        }
        &'lbdoctor;help;explain'= {
        }
        &'lbdoctor;help;help'= {
        }
    ]
    $completions[$command]
}
