# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_lbdoctor_global_optspecs
    string join \n format= color= fail-on= q/quiet v/verbose h/help V/version
end

function __fish_lbdoctor_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_lbdoctor_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_lbdoctor_using_subcommand
    set -l cmd (__fish_lbdoctor_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c lbdoctor -n "__fish_lbdoctor_needs_command" -l format -d 'Output format (sarif: lint only)' -r -f -a "human\t''
json\t''
sarif\t''"
complete -c lbdoctor -n "__fish_lbdoctor_needs_command" -l color -d 'When to color human output; auto honors NO_COLOR and is off when stdout is not a terminal' -r -f -a "auto\t''
always\t''
never\t''"
complete -c lbdoctor -n "__fish_lbdoctor_needs_command" -l fail-on -d 'Lowest severity that makes the exit status 1' -r -f -a "error\t''
warning\t''
info\t''
never\t''"
complete -c lbdoctor -n "__fish_lbdoctor_needs_command" -s q -l quiet -d 'Print findings only: no summaries, no progress'
complete -c lbdoctor -n "__fish_lbdoctor_needs_command" -s v -l verbose -d 'More detail (repeat for more)'
complete -c lbdoctor -n "__fish_lbdoctor_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lbdoctor -n "__fish_lbdoctor_needs_command" -s V -l version -d 'Print version'
complete -c lbdoctor -n "__fish_lbdoctor_needs_command" -f -a "detect" -d 'Tell DSR from NAT from a proxy by watching the wire (live or from a capture file)'
complete -c lbdoctor -n "__fish_lbdoctor_needs_command" -f -a "lint" -d 'Lint keepalived.conf files: what keepalived really reads, and what `keepalived -t` misses'
complete -c lbdoctor -n "__fish_lbdoctor_needs_command" -f -a "state" -d 'Read the IPVS table (ipvsadm -Ln view) and check it against keepalived.conf'
complete -c lbdoctor -n "__fish_lbdoctor_needs_command" -f -a "audit" -d 'Audit real servers and directors over SSH; --fix applies and persists the repair'
complete -c lbdoctor -n "__fish_lbdoctor_needs_command" -f -a "check" -d 'Test each real server\'s VIP path the way an IPVS director in DR mode reaches it'
complete -c lbdoctor -n "__fish_lbdoctor_needs_command" -f -a "explain" -d 'Explain a check: what it finds, why it matters, how to fix it'
complete -c lbdoctor -n "__fish_lbdoctor_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand detect" -s i -l interface -d 'Interface to capture on (default: the interface that routes to the VIP)' -r
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand detect" -s r -l read -d 'Read packets from a pcap or pcapng file instead of capturing live' -r -F
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand detect" -s w -l write -d 'Save the live capture to a pcap file as evidence' -r -F
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand detect" -s d -l duration -d 'How long to capture live, in seconds' -r
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand detect" -s c -l count -d 'Stop after this many packets' -r
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand detect" -l probes -d 'Number of TCP connection probes to send to VIP:PORT during a live capture' -r
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand detect" -l max-flows -d 'Most flows tracked at once; older ones are evicted and counted (bounds memory under floods)' -r
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand detect" -l format -d 'Output format (sarif: lint only)' -r -f -a "human\t''
json\t''
sarif\t''"
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand detect" -l color -d 'When to color human output; auto honors NO_COLOR and is off when stdout is not a terminal' -r -f -a "auto\t''
always\t''
never\t''"
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand detect" -l fail-on -d 'Lowest severity that makes the exit status 1' -r -f -a "error\t''
warning\t''
info\t''
never\t''"
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand detect" -l no-probe -d 'Only listen; send no probes'
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand detect" -s q -l quiet -d 'Print findings only: no summaries, no progress'
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand detect" -s v -l verbose -d 'More detail (repeat for more)'
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand detect" -s h -l help -d 'Print help'
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand lint" -l select -d 'Only report these checks (comma-separated ids or prefixes, e.g. LB001,LB1)' -r
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand lint" -l ignore -d 'Do not report these checks (comma-separated ids or prefixes)' -r
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand lint" -l director-addr -d 'Addresses of the director itself, to find real servers that are the director (ping-pong)' -r
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand lint" -l config-id -d 'keepalived\'s config id (its -i), selecting `@id` conditional lines' -r
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand lint" -l model -d 'The effective configuration in --format json: auto = full up to 2000 virtual servers, else a summary (counts and VRRP instances); full; summary; none' -r -f -a "auto\t''
full\t''
summary\t''
none\t''"
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand lint" -l format -d 'Output format (sarif: lint only)' -r -f -a "human\t''
json\t''
sarif\t''"
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand lint" -l color -d 'When to color human output; auto honors NO_COLOR and is off when stdout is not a terminal' -r -f -a "auto\t''
always\t''
never\t''"
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand lint" -l fail-on -d 'Lowest severity that makes the exit status 1' -r -f -a "error\t''
warning\t''
info\t''
never\t''"
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand lint" -s q -l quiet -d 'Print findings only: no summaries, no progress'
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand lint" -s v -l verbose -d 'More detail (repeat for more)'
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand lint" -s h -l help -d 'Print help'
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand state" -l host -d 'Read the IPVS state of this director over SSH' -r
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand state" -l from -d 'Read saved output instead: ipvsadm -Ln [--stats|--rate], ipvsadm -Lnc, ipvsadm-save -n, or /proc/net/ip_vs* files' -r -F
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand state" -l config -d 'keepalived.conf to compare the kernel\'s table with' -r -F
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand state" -l kernel -d 'The director\'s kernel release (`uname -r`) for --from files: since Linux 4.8 SYN_RECV counts as active (--host reads it itself)' -r
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand state" -l known-hosts -d 'known_hosts file to verify host keys against (default: ~/.ssh/known_hosts)' -r -F
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand state" -l ssh-config -d 'ssh_config file for host aliases (default: ~/.ssh/config)' -r -F
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand state" -l identity -d 'Private key file (default: ssh-agent, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa)' -r -F
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand state" -l user -d 'SSH user (default: from ssh_config, else the current user)' -r
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand state" -l connect-timeout -d 'Seconds to wait for a host to connect and answer' -r
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand state" -l format -d 'Output format (sarif: lint only)' -r -f -a "human\t''
json\t''
sarif\t''"
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand state" -l color -d 'When to color human output; auto honors NO_COLOR and is off when stdout is not a terminal' -r -f -a "auto\t''
always\t''
never\t''"
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand state" -l fail-on -d 'Lowest severity that makes the exit status 1' -r -f -a "error\t''
warning\t''
info\t''
never\t''"
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand state" -l accept-new -d 'Accept and record the host key of a host not yet in known_hosts (like StrictHostKeyChecking=accept-new)'
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand state" -s q -l quiet -d 'Print findings only: no summaries, no progress'
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand state" -s v -l verbose -d 'More detail (repeat for more)'
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand state" -s h -l help -d 'Print help'
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand audit" -l host -d 'Host to audit over SSH (repeatable); `localhost` audits this machine without SSH' -r
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand audit" -l inventory -d 'Audit the hosts of this Ansible inventory (INI or YAML); directors are the hosts in groups named like director/lb/keepalived/lvs (see docs/audit.md)' -r -F
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand audit" -l limit -d 'With --inventory: only these groups or hosts (comma-separated), as ansible --limit' -r
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand audit" -l config -d 'Audit every real server (and, with --role director, the director) named in this keepalived.conf' -r -F
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand audit" -l vip -d 'The VIP (and port, default 80) the hosts serve' -r
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand audit" -l lvs-method -d 'The forwarding method when there is no --config: DR (default) or TUN (IPIP real servers)' -r -f -a "DR\t''
TUN\t''
dr\t''
tun\t''"
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand audit" -l role -d 'What the hosts are' -r -f -a "real\t''
director\t''
auto\t''"
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand audit" -l deny-direct -d 'Close the service port on the real IPs to this CIDR (SSH stays open)' -r
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand audit" -l allow-direct -d 'With --deny-direct: sources that keep direct access, the directors whose health checks connect to the real IPs (repeatable, comma-separated IPs or CIDRs); directors audited in the same run are spared without being named' -r
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand audit" -l rollback-timeout -d 'Seconds a firewall or sysctl change waits for a fresh SSH session before it rolls back' -r
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand audit" -l save-facts -d 'Save each host\'s gathered facts to this file (JSON) for offline audits' -r -F
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand audit" -l facts -d 'Audit saved facts instead of live hosts (repeatable)' -r -F
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand audit" -l jobs -d 'Hosts audited at once' -r
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand audit" -l known-hosts -d 'known_hosts file to verify host keys against (default: ~/.ssh/known_hosts)' -r -F
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand audit" -l ssh-config -d 'ssh_config file for host aliases (default: ~/.ssh/config)' -r -F
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand audit" -l identity -d 'Private key file (default: ssh-agent, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa)' -r -F
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand audit" -l user -d 'SSH user (default: from ssh_config, else the current user)' -r
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand audit" -l connect-timeout -d 'Seconds to wait for a host to connect and answer' -r
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand audit" -l format -d 'Output format (sarif: lint only)' -r -f -a "human\t''
json\t''
sarif\t''"
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand audit" -l color -d 'When to color human output; auto honors NO_COLOR and is off when stdout is not a terminal' -r -f -a "auto\t''
always\t''
never\t''"
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand audit" -l fail-on -d 'Lowest severity that makes the exit status 1' -r -f -a "error\t''
warning\t''
info\t''
never\t''"
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand audit" -l local -d 'Audit this machine without SSH'
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand audit" -l fix -d 'Apply and persist the repair after showing the plan'
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand audit" -l dry-run -d 'With --fix: print the plan (commands and diffs) and change nothing'
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand audit" -l yes -d 'With --fix: do not ask for confirmation'
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand audit" -l install-packages -d 'With --fix: where no service restores firewall rules at boot, install the distribution\'s (iptables-persistent) instead of lbdoctor\'s own unit; the plan shows apt\'s simulation, and nothing is done if apt would remove a package'
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand audit" -l accept-new -d 'Accept and record the host key of a host not yet in known_hosts (like StrictHostKeyChecking=accept-new)'
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand audit" -s q -l quiet -d 'Print findings only: no summaries, no progress'
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand audit" -s v -l verbose -d 'More detail (repeat for more)'
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand audit" -s h -l help -d 'Print help'
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand check" -l rs -d 'A real server\'s own IP address (repeatable)' -r
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand check" -l config -d 'Test every real server of the VIP\'s virtual_server(s) in this keepalived.conf' -r -F
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand check" -s i -l interface -d 'Send on this interface (default: the one the kernel routes each real server through)' -r
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand check" -l timeout -d 'Seconds to wait for the answers (and as long again for ARP when a MAC is not known)' -r
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand check" -l format -d 'Output format (sarif: lint only)' -r -f -a "human\t''
json\t''
sarif\t''"
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand check" -l color -d 'When to color human output; auto honors NO_COLOR and is off when stdout is not a terminal' -r -f -a "auto\t''
always\t''
never\t''"
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand check" -l fail-on -d 'Lowest severity that makes the exit status 1' -r -f -a "error\t''
warning\t''
info\t''
never\t''"
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand check" -s q -l quiet -d 'Print findings only: no summaries, no progress'
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand check" -s v -l verbose -d 'More detail (repeat for more)'
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand check" -s h -l help -d 'Print help'
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand explain" -l format -d 'Output format (sarif: lint only)' -r -f -a "human\t''
json\t''
sarif\t''"
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand explain" -l color -d 'When to color human output; auto honors NO_COLOR and is off when stdout is not a terminal' -r -f -a "auto\t''
always\t''
never\t''"
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand explain" -l fail-on -d 'Lowest severity that makes the exit status 1' -r -f -a "error\t''
warning\t''
info\t''
never\t''"
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand explain" -s q -l quiet -d 'Print findings only: no summaries, no progress'
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand explain" -s v -l verbose -d 'More detail (repeat for more)'
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand explain" -s h -l help -d 'Print help'
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand help; and not __fish_seen_subcommand_from detect lint state audit check explain help" -f -a "detect" -d 'Tell DSR from NAT from a proxy by watching the wire (live or from a capture file)'
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand help; and not __fish_seen_subcommand_from detect lint state audit check explain help" -f -a "lint" -d 'Lint keepalived.conf files: what keepalived really reads, and what `keepalived -t` misses'
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand help; and not __fish_seen_subcommand_from detect lint state audit check explain help" -f -a "state" -d 'Read the IPVS table (ipvsadm -Ln view) and check it against keepalived.conf'
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand help; and not __fish_seen_subcommand_from detect lint state audit check explain help" -f -a "audit" -d 'Audit real servers and directors over SSH; --fix applies and persists the repair'
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand help; and not __fish_seen_subcommand_from detect lint state audit check explain help" -f -a "check" -d 'Test each real server\'s VIP path the way an IPVS director in DR mode reaches it'
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand help; and not __fish_seen_subcommand_from detect lint state audit check explain help" -f -a "explain" -d 'Explain a check: what it finds, why it matters, how to fix it'
complete -c lbdoctor -n "__fish_lbdoctor_using_subcommand help; and not __fish_seen_subcommand_from detect lint state audit check explain help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
