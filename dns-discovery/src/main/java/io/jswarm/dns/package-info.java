/**
 * The embedded DNS server (Netty DNS codec) that answers service names for containers at
 * 127.0.0.11, fed by a name table the agent keeps. Filled in by the service discovery
 * issue; nothing here yet.
 */
package io.jswarm.dns;
