# A stub of Ignition's `system` scripting API, written from Inductive Automation's documentation
# (8.1 and 8.3 "system.*" reference pages), for running the bundled gateway scripts under the
# same Jython 2.7 and Java 17 that Ignition 8.1.33+ ships. Only what the scripts call exists, so
# a call to anything else fails here as a typo would on a gateway. Each assumption the stub
# makes about Ignition is marked "ASSUMPTION" where it is implemented; the test lists them.
import net
import tag
import util
