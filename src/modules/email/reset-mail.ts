// The password reset mail: the link and what it is for, nothing else (no client address, no
// other account, no tracking).

export function resetMail(m: { to: string; jid: string; link: string; lifetimeMs: number }): { to: string; subject: string; text: string } {
  const minutes = Math.round(m.lifetimeMs / 60_000);
  const valid = minutes % 60 === 0 ? `${minutes / 60} hour${minutes === 60 ? '' : 's'}` : `${minutes} minutes`;
  return {
    to: m.to,
    subject: `Reset the password of ${m.jid}`,
    text: [
      `Someone asked to reset the password of the chat account ${m.jid}.`,
      '',
      `To choose a new password, open this link within ${valid}. It works once.`,
      '',
      m.link,
      '',
      'If you did not ask for this, ignore this mail: your password stays as it is.',
      '',
    ].join('\n'),
  };
}
