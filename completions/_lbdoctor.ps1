
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'lbdoctor' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'lbdoctor'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'lbdoctor' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format (sarif: lint only)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to color human output; auto honors NO_COLOR and is off when stdout is not a terminal')
            [CompletionResult]::new('--fail-on', '--fail-on', [CompletionResultType]::ParameterName, 'Lowest severity that makes the exit status 1')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print findings only: no summaries, no progress')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print findings only: no summaries, no progress')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('detect', 'detect', [CompletionResultType]::ParameterValue, 'Tell DSR from NAT from a proxy by watching the wire (live or from a capture file)')
            [CompletionResult]::new('lint', 'lint', [CompletionResultType]::ParameterValue, 'Lint keepalived.conf files: what keepalived really reads, and what `keepalived -t` misses')
            [CompletionResult]::new('state', 'state', [CompletionResultType]::ParameterValue, 'Read the IPVS table (ipvsadm -Ln view) and check it against keepalived.conf')
            [CompletionResult]::new('audit', 'audit', [CompletionResultType]::ParameterValue, 'Audit real servers and directors over SSH; --fix applies and persists the repair')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Test each real server''s VIP path the way an IPVS director in DR mode reaches it')
            [CompletionResult]::new('explain', 'explain', [CompletionResultType]::ParameterValue, 'Explain a check: what it finds, why it matters, how to fix it')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'lbdoctor;detect' {
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Interface to capture on (default: the interface that routes to the VIP)')
            [CompletionResult]::new('--interface', '--interface', [CompletionResultType]::ParameterName, 'Interface to capture on (default: the interface that routes to the VIP)')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Read packets from a pcap or pcapng file instead of capturing live')
            [CompletionResult]::new('--read', '--read', [CompletionResultType]::ParameterName, 'Read packets from a pcap or pcapng file instead of capturing live')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Save the live capture to a pcap file as evidence')
            [CompletionResult]::new('--write', '--write', [CompletionResultType]::ParameterName, 'Save the live capture to a pcap file as evidence')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'How long to capture live, in seconds')
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'How long to capture live, in seconds')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Stop after this many packets')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Stop after this many packets')
            [CompletionResult]::new('--probes', '--probes', [CompletionResultType]::ParameterName, 'Number of TCP connection probes to send to VIP:PORT during a live capture')
            [CompletionResult]::new('--max-flows', '--max-flows', [CompletionResultType]::ParameterName, 'Most flows tracked at once; older ones are evicted and counted (bounds memory under floods)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format (sarif: lint only)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to color human output; auto honors NO_COLOR and is off when stdout is not a terminal')
            [CompletionResult]::new('--fail-on', '--fail-on', [CompletionResultType]::ParameterName, 'Lowest severity that makes the exit status 1')
            [CompletionResult]::new('--no-probe', '--no-probe', [CompletionResultType]::ParameterName, 'Only listen; send no probes')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print findings only: no summaries, no progress')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print findings only: no summaries, no progress')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'lbdoctor;lint' {
            [CompletionResult]::new('--select', '--select', [CompletionResultType]::ParameterName, 'Only report these checks (comma-separated ids or prefixes, e.g. LB001,LB1)')
            [CompletionResult]::new('--ignore', '--ignore', [CompletionResultType]::ParameterName, 'Do not report these checks (comma-separated ids or prefixes)')
            [CompletionResult]::new('--director-addr', '--director-addr', [CompletionResultType]::ParameterName, 'Addresses of the director itself, to find real servers that are the director (ping-pong)')
            [CompletionResult]::new('--config-id', '--config-id', [CompletionResultType]::ParameterName, 'keepalived''s config id (its -i), selecting `@id` conditional lines')
            [CompletionResult]::new('--model', '--model', [CompletionResultType]::ParameterName, 'The effective configuration in --format json: auto = full up to 2000 virtual servers, else a summary (counts and VRRP instances); full; summary; none')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format (sarif: lint only)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to color human output; auto honors NO_COLOR and is off when stdout is not a terminal')
            [CompletionResult]::new('--fail-on', '--fail-on', [CompletionResultType]::ParameterName, 'Lowest severity that makes the exit status 1')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print findings only: no summaries, no progress')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print findings only: no summaries, no progress')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'lbdoctor;state' {
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Read the IPVS state of this director over SSH')
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Read saved output instead: ipvsadm -Ln [--stats|--rate], ipvsadm -Lnc, ipvsadm-save -n, or /proc/net/ip_vs* files')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'keepalived.conf to compare the kernel''s table with')
            [CompletionResult]::new('--kernel', '--kernel', [CompletionResultType]::ParameterName, 'The director''s kernel release (`uname -r`) for --from files: since Linux 4.8 SYN_RECV counts as active (--host reads it itself)')
            [CompletionResult]::new('--known-hosts', '--known-hosts', [CompletionResultType]::ParameterName, 'known_hosts file to verify host keys against (default: ~/.ssh/known_hosts)')
            [CompletionResult]::new('--ssh-config', '--ssh-config', [CompletionResultType]::ParameterName, 'ssh_config file for host aliases (default: ~/.ssh/config)')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'Private key file (default: ssh-agent, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'SSH user (default: from ssh_config, else the current user)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a host to connect and answer')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format (sarif: lint only)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to color human output; auto honors NO_COLOR and is off when stdout is not a terminal')
            [CompletionResult]::new('--fail-on', '--fail-on', [CompletionResultType]::ParameterName, 'Lowest severity that makes the exit status 1')
            [CompletionResult]::new('--accept-new', '--accept-new', [CompletionResultType]::ParameterName, 'Accept and record the host key of a host not yet in known_hosts (like StrictHostKeyChecking=accept-new)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print findings only: no summaries, no progress')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print findings only: no summaries, no progress')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'lbdoctor;audit' {
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Host to audit over SSH (repeatable); `localhost` audits this machine without SSH')
            [CompletionResult]::new('--inventory', '--inventory', [CompletionResultType]::ParameterName, 'Audit the hosts of this Ansible inventory (INI or YAML); directors are the hosts in groups named like director/lb/keepalived/lvs (see docs/audit.md)')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'With --inventory: only these groups or hosts (comma-separated), as ansible --limit')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Audit every real server (and, with --role director, the director) named in this keepalived.conf')
            [CompletionResult]::new('--vip', '--vip', [CompletionResultType]::ParameterName, 'The VIP (and port, default 80) the hosts serve')
            [CompletionResult]::new('--lvs-method', '--lvs-method', [CompletionResultType]::ParameterName, 'The forwarding method when there is no --config: DR (default) or TUN (IPIP real servers)')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'What the hosts are')
            [CompletionResult]::new('--deny-direct', '--deny-direct', [CompletionResultType]::ParameterName, 'Close the service port on the real IPs to this CIDR (SSH stays open)')
            [CompletionResult]::new('--allow-direct', '--allow-direct', [CompletionResultType]::ParameterName, 'With --deny-direct: sources that keep direct access, the directors whose health checks connect to the real IPs (repeatable, comma-separated IPs or CIDRs); directors audited in the same run are spared without being named')
            [CompletionResult]::new('--rollback-timeout', '--rollback-timeout', [CompletionResultType]::ParameterName, 'Seconds a firewall or sysctl change waits for a fresh SSH session before it rolls back')
            [CompletionResult]::new('--save-facts', '--save-facts', [CompletionResultType]::ParameterName, 'Save each host''s gathered facts to this file (JSON) for offline audits')
            [CompletionResult]::new('--facts', '--facts', [CompletionResultType]::ParameterName, 'Audit saved facts instead of live hosts (repeatable)')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Hosts audited at once')
            [CompletionResult]::new('--known-hosts', '--known-hosts', [CompletionResultType]::ParameterName, 'known_hosts file to verify host keys against (default: ~/.ssh/known_hosts)')
            [CompletionResult]::new('--ssh-config', '--ssh-config', [CompletionResultType]::ParameterName, 'ssh_config file for host aliases (default: ~/.ssh/config)')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'Private key file (default: ssh-agent, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'SSH user (default: from ssh_config, else the current user)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a host to connect and answer')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format (sarif: lint only)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to color human output; auto honors NO_COLOR and is off when stdout is not a terminal')
            [CompletionResult]::new('--fail-on', '--fail-on', [CompletionResultType]::ParameterName, 'Lowest severity that makes the exit status 1')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'Audit this machine without SSH')
            [CompletionResult]::new('--fix', '--fix', [CompletionResultType]::ParameterName, 'Apply and persist the repair after showing the plan')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'With --fix: print the plan (commands and diffs) and change nothing')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'With --fix: do not ask for confirmation')
            [CompletionResult]::new('--install-packages', '--install-packages', [CompletionResultType]::ParameterName, 'With --fix: where no service restores firewall rules at boot, install the distribution''s (iptables-persistent) instead of lbdoctor''s own unit; the plan shows apt''s simulation, and nothing is done if apt would remove a package')
            [CompletionResult]::new('--accept-new', '--accept-new', [CompletionResultType]::ParameterName, 'Accept and record the host key of a host not yet in known_hosts (like StrictHostKeyChecking=accept-new)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print findings only: no summaries, no progress')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print findings only: no summaries, no progress')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'lbdoctor;check' {
            [CompletionResult]::new('--rs', '--rs', [CompletionResultType]::ParameterName, 'A real server''s own IP address (repeatable)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Test every real server of the VIP''s virtual_server(s) in this keepalived.conf')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Send on this interface (default: the one the kernel routes each real server through)')
            [CompletionResult]::new('--interface', '--interface', [CompletionResultType]::ParameterName, 'Send on this interface (default: the one the kernel routes each real server through)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for the answers (and as long again for ARP when a MAC is not known)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format (sarif: lint only)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to color human output; auto honors NO_COLOR and is off when stdout is not a terminal')
            [CompletionResult]::new('--fail-on', '--fail-on', [CompletionResultType]::ParameterName, 'Lowest severity that makes the exit status 1')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print findings only: no summaries, no progress')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print findings only: no summaries, no progress')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'lbdoctor;explain' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format (sarif: lint only)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to color human output; auto honors NO_COLOR and is off when stdout is not a terminal')
            [CompletionResult]::new('--fail-on', '--fail-on', [CompletionResultType]::ParameterName, 'Lowest severity that makes the exit status 1')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print findings only: no summaries, no progress')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print findings only: no summaries, no progress')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'lbdoctor;help' {
            [CompletionResult]::new('detect', 'detect', [CompletionResultType]::ParameterValue, 'Tell DSR from NAT from a proxy by watching the wire (live or from a capture file)')
            [CompletionResult]::new('lint', 'lint', [CompletionResultType]::ParameterValue, 'Lint keepalived.conf files: what keepalived really reads, and what `keepalived -t` misses')
            [CompletionResult]::new('state', 'state', [CompletionResultType]::ParameterValue, 'Read the IPVS table (ipvsadm -Ln view) and check it against keepalived.conf')
            [CompletionResult]::new('audit', 'audit', [CompletionResultType]::ParameterValue, 'Audit real servers and directors over SSH; --fix applies and persists the repair')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Test each real server''s VIP path the way an IPVS director in DR mode reaches it')
            [CompletionResult]::new('explain', 'explain', [CompletionResultType]::ParameterValue, 'Explain a check: what it finds, why it matters, how to fix it')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'lbdoctor;help;detect' {
            break
        }
        'lbdoctor;help;lint' {
            break
        }
        'lbdoctor;help;state' {
            break
        }
        'lbdoctor;help;audit' {
            break
        }
        'lbdoctor;help;check' {
            break
        }
        'lbdoctor;help;explain' {
            break
        }
        'lbdoctor;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
