import { runGenerator } from '../grafana/generate.js';
import { renderKubernetesFiles } from './generate.js';

runGenerator('kubernetes', renderKubernetesFiles(process.cwd()), process.argv.slice(2));
