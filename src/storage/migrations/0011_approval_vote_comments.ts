import type { Kysely, Migration } from 'kysely';

/**
 * An approver's optional comment on a vote (`keyhold approvals approve|deny ID --comment TEXT`, the web
 * console's approvals inbox), at most 1,000 characters (checked by the approval gate), shown with the vote.
 */
export function approvalVoteCommentsMigration(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('approval_votes').addColumn('comment', 'text').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('approval_votes').dropColumn('comment').execute();
    },
  };
}
