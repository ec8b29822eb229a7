import { actionHandler } from './post-batch-action';

export const handler = actionHandler('lock');
