/**
 * Which Node-RED the node tests run inside: the dev dependency (Node-RED 4) by default, or the
 * one named by ZEROBUS_NODE_RED (scripts/test-nr5.sh points it at a Node-RED 5 install).
 */
export const NODE_RED_PATH: string = process.env.ZEROBUS_NODE_RED || require.resolve('node-red');
