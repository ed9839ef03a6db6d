/**
 * Linux networking for one node: network namespaces, bridges, veth pairs, VXLAN devices,
 * FDB and neighbour entries, NAT rules, VIP and published-port plumbing. Filled in by the
 * overlay networking issue; nothing here yet.
 */
package io.jswarm.overlay;
