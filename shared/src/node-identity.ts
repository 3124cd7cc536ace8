/**
 * What a runtime may call itself: the rules its own configuration enforces
 * (CAUSEWAY_NODE_ID, CAUSEWAY_NODE_LABELS) and the controller holds every stream to.
 */
export const nodeIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
export const nodeIdRule = "letters, digits, '.', '_', ':', '-', max 128";

export const labelKeyPattern = /^[A-Za-z0-9](?:[A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$/;
export const labelValuePattern = /^[A-Za-z0-9._/-]{0,63}$/;
export const labelRule = "key: letters, digits, '.', '_', '/', '-', max 63; value: the same, may be empty";
/** More labels than this on one runtime are refused. */
export const MAX_NODE_LABELS = 64;
