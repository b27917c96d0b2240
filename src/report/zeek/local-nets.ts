import { resolveInputs } from '../../analysis/context';
import { canJudgeNetworks, emptyInventory, insideCluster } from '../../analysis/inventory';
import { noAcceptances } from '../../analysis/acceptances';
import type { IsLocal } from './conn-log';
import type { Db } from '../../store/store';

/**
 * Local networks, as Zeek's Site::local_nets: the cluster of the inventory stored with the database
 * (null without one that declares it, as Zeek without local networks).
 */
export function zeekLocalNets(db: Db): IsLocal {
  const { inventory } = resolveInputs(db, { inventory: emptyInventory(), ca: null, accept: noAcceptances(), files: [] });
  return canJudgeNetworks(inventory) ? (ip: string) => insideCluster(inventory, ip) : null;
}
