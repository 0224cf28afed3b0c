/**
 * The `weave` usage text, laid out as Weave Net's script prints it, listing
 * the commands this implementation has.
 *
 * @module
 */

/** Usage text (printed to standard error, as Weave does). */
export const USAGE = `Usage:

weave --help | help
      version

weave launch        [--password <pass>] [--trusted-subnets <cidr>,...]
                    [--host <ip_address>] [--port <port>]
                    [--name <mac>] [--nickname <nickname>]
                    [--no-discovery] [--conn-limit <n>]
                    [--http-addr <addr>] [--status-addr <addr>]
                    [--metrics-addr <addr>] [--socket <path>]
                    [--db-prefix <path>] [--mtu <mtu>] [--no-fastdp]
                    [--ipalloc-range <cidr> [--ipalloc-default-subnet <cidr>]]
                    [--ipalloc-init consensus[=<count>] | seed=<mac>,... | observer]
                    [--no-dns] [--dns-domain <domain>] [--dns-ttl <seconds>]
                    [--dns-listen-address <ip>:<port>] [--resolv-conf <path>]
                    [--log-level=debug|info|warning|error]
                    <peer> ...

weave connect       [--replace] [<peer> ...]
      forget        <peer> ...

weave attach        [<addr> ...] [--without-dns] [-h|--hostname <fqdn>]
                    [--no-multicast-route] <container>
      detach        [<addr> ...] <container>
weave expose        [<addr> ...] [--without-masquerade]
      hide          [<addr> ...]
weave ps            [<container> ...]

weave env           [--restore]
      config
      dns-args      [<docker run args> ...]

weave dns-add       [<ip_address> ...] <container_id> [-h <fqdn>] |
                    <ip_address> ... -h <fqdn>
      dns-remove    [<ip_address> ...] <container_id> [-h <fqdn>] |
                    <ip_address> ... -h <fqdn>
      dns-lookup    <unqualified_name>

weave status        [targets | connections | peers | dns | ipam]
      report        [-f <format>]

weave stop

weave reset         [--force]

weave setup-cni     [--cni-bin-dir <dir>] [--cni-conf-dir <dir>]

where <peer>      = <ip_address_or_fqdn>[:<port>]
      <cidr>      = <ip_address>/<routing_prefix_length>
      <addr>      = [ip:]<cidr>
      <container> = <netns name> | <pid> | <netns path>

`;
