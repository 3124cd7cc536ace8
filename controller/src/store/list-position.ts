/**
 * Where a page of a newest-first list ended: the last item's time as PostgreSQL holds it, to
 * the microsecond (a Date keeps only milliseconds, and a cursor cut to them skipped the
 * items written in the same millisecond as the page's last), and its id.
 */
export interface ListPosition<Id extends string | number> {
  readonly at: string;
  readonly id: Id;
}

/** `to_char` format of a timestamptz in UTC to the microsecond, as `ListPosition.at` holds it. */
export const EXACT_INSTANT = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"';
