import { CausewayError } from '@causeway/shared';
import type { Output } from './output.ts';

const commands = [
  'dev', 'controller', 'runtime', 'apply', 'diff', 'get', 'delete', 'status', 'rollback', 'allocate', 'release',
  'orgs', 'tokens', 'roles', 'audit', 'gateways', 'consumers', 'certs', 'completion', 'version',
];
const kinds = ['apis', 'gateways', 'pools', 'zones', 'consumers', 'runtimes', 'controllers', 'allocations'];
const flags = ['-f', '-o', '-l', '--org', '--prune', '--wait', '--timeout', '--to', '--help'];

/** Completes the command, then a kind after get/delete, `api` after status/rollback, files after -f, formats after -o. */
const bash = `# causeway completion for bash: source <(causeway completion bash)
_causeway() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  case "$prev" in
    -f) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    -o) COMPREPLY=($(compgen -W "table wide json yaml" -- "$cur")); return ;;
  esac
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${commands.join(' ')}" -- "$cur")); return
  fi
  case "\${COMP_WORDS[1]}" in
    get|delete) [ "$COMP_CWORD" -eq 2 ] && COMPREPLY=($(compgen -W "${kinds.join(' ')}" -- "$cur")) && return ;;
    status|rollback) [ "$COMP_CWORD" -eq 2 ] && COMPREPLY=($(compgen -W "api" -- "$cur")) && return ;;
    completion) COMPREPLY=($(compgen -W "bash zsh" -- "$cur")); return ;;
  esac
  COMPREPLY=($(compgen -W "${flags.join(' ')}" -- "$cur"))
}
complete -o default -F _causeway causeway`;

const zsh = `#compdef causeway
# causeway completion for zsh: source <(causeway completion zsh)
_causeway() {
  local -a commands kinds
  commands=(${commands.join(' ')})
  kinds=(${kinds.join(' ')})
  case "$words[CURRENT-1]" in
    -f) _files; return ;;
    -o) compadd table wide json yaml; return ;;
  esac
  if (( CURRENT == 2 )); then compadd -a commands; return; fi
  case "$words[2]" in
    get|delete) (( CURRENT == 3 )) && { compadd -a kinds; return } ;;
    status|rollback) (( CURRENT == 3 )) && { compadd api; return } ;;
    completion) compadd bash zsh; return ;;
  esac
  compadd -- ${flags.join(' ')}
}
if [ "$funcstack[1]" = "_causeway" ]; then _causeway "$@"; else compdef _causeway causeway; fi`;

/** `causeway completion bash|zsh`: the script, on stdout. */
export function completion(args: readonly string[], io: Output): number {
  const shell = args[0];
  if (shell === 'bash') io.out(bash);
  else if (shell === 'zsh') io.out(zsh);
  else throw new CausewayError('invalid_argument', 'usage: causeway completion bash|zsh');
  return 0;
}
