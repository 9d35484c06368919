import { hashApiKey } from '../../gateway/auth/index.ts';
import type { Command } from '../command.ts';

export const keysHash: Command = {
  name: 'keys hash',
  summary: 'Print the hashed form of an API key, for auth.apiKeys in the config.',
  args: 'KEY',
  positionals: { min: 1, max: 1 },
  description: 'The server stores only the hash; clients send the key itself as "Authorization: Bearer KEY" (or --api-key / $TOLLSTREAM_API_KEY).',
  options: {},
  examples: ['tollstream keys hash "$(openssl rand -hex 24)"'],
  async run({ positionals, io }) {
    io.stdout.write(hashApiKey(positionals[0]!) + '\n');
  },
};
