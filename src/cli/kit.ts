/**
 * The door for commands written outside this folder (an app's `tollstream` commands, listed in
 * `src/apps/commands.ts`): what a command is, the client of the native API, and the text formats. It is apart from
 * `index.ts`, which lists the commands and so imports the apps' ones.
 */
export { CLIENT_OPTIONS, stringFlag, UsageError, type Command, type CommandInput, type Io } from './command.ts';
export { NativeClient } from './client.ts';
export { keyValues, table } from './format.ts';
